"""Listen sessions: a workspace's webhook events handed to a CLI that forwards them to a local URL.

As ``stripe listen`` does: no public endpoint. A session has its own signing secret (``whsec_…``, shown once),
receives the workspace's events through the live fan-out (its type filter as a live connection's), and hands
them out signed exactly as webhook deliveries are (Standard Webhooks, chalicelib/domain/webhook_signatures.py):
same body (the event envelope), ``webhook-id`` (the event id), timestamp and ``v1`` signature. A session no one
polls for ``LISTEN_IDLE_S`` expires, and what it buffered with it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from chalicelib.domain.models._command import _Command

__all__ = [
    "LISTEN_CONNECTION_PREFIX",
    "LISTEN_IDLE_S",
    "MAX_BATCH",
    "MAX_WAIT_S",
    "ListenBatch",
    "ListenDelivery",
    "ListenSession",
    "ListenSessionCreated",
    "OpenListenRequest",
    "listen_connection_id",
    "session_of_connection",
]

LISTEN_IDLE_S = 60  # a session expires this long after its last poll
MAX_WAIT_S = 20  # a long poll waits at most this long (API Gateway answers within 29 s)
MAX_BATCH = 50
LISTEN_CONNECTION_PREFIX = "listen-"


def listen_connection_id(session_id: str) -> str:
    """The live connection id a session receives the fan-out under."""
    return f"{LISTEN_CONNECTION_PREFIX}{session_id}"


def session_of_connection(connection_id: str) -> str | None:
    """The session id behind a live connection id, None for a WebSocket."""
    if connection_id.startswith(LISTEN_CONNECTION_PREFIX):
        return connection_id[len(LISTEN_CONNECTION_PREFIX) :]
    return None


class OpenListenRequest(_Command):
    """Start a listen session for some event types (patterns as live filters: ``task.*``; empty = all)."""

    types: list[str] = Field(default_factory=list, max_length=20, description="Event type patterns; [] = every type.")


class ListenSession(BaseModel):
    """What the server keeps of a session (its secret only encrypted)."""

    session_id: str
    workspace_id: str
    key_id: str
    types: list[str]
    secret_ciphertext: str
    created_at: datetime
    expires_at: datetime


class ListenSessionCreated(BaseModel):
    """A new session, with its signing secret: shown this once."""

    session_id: str
    types: list[str]
    secret: str = Field(description="The whsec_ secret the forwarded deliveries are signed with; shown once.")
    expires_at: datetime
    poll: str = Field(description="Where to long-poll for deliveries.")


class ListenDelivery(BaseModel):
    """One signed delivery, to forward as is: ``body`` with ``headers`` (webhook-id, -timestamp, -signature)."""

    delivery_id: str
    event_type: str
    headers: dict[str, str]
    body: str


class ListenBatch(BaseModel):
    """What one poll got (possibly nothing, after waiting), and until when the session lives unpolled."""

    deliveries: list[ListenDelivery]
    expires_at: datetime
