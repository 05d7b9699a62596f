"""Live events over WebSocket: a client's connection, its event-type filter, and the frames it receives.

A connection belongs to one workspace (the one of the API key it connected with) and only ever receives
that workspace's events whose type matches its filter (docs/events.md, "Live events").
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.domain.errors import ValidationFailedError
from chalicelib.domain.models import EventEnvelope

__all__ = [
    "MAX_FILTER_PATTERNS",
    "MAX_FRAME_BYTES",
    "TICKET_TTL",
    "LiveConnection",
    "LiveTicket",
    "LiveTicketIssued",
    "event_frame",
    "matches",
    "parse_type_filter",
    "reply_frame",
]

MAX_FILTER_PATTERNS = 20
# API Gateway's post_to_connection takes at most 128 KiB; a larger event is announced without its data.
MAX_FRAME_BYTES = 128 * 1024
_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_-]{0,62}(\.[a-z][a-z0-9_-]{0,62}){0,5}(\.\*)?)$")


class LiveConnection(BaseModel):
    """One open WebSocket of a workspace's client."""

    connection_id: str
    workspace_id: str
    key_id: str
    types: list[str] = Field(default_factory=list, description="Type patterns; empty = every type.")
    connected_at: datetime
    expires_at: datetime = Field(description="When the record lapses even if $disconnect never arrives.")


# Long enough to open a socket right after asking for it, short enough that a ticket seen in a log is stale.
TICKET_TTL = timedelta(seconds=30)


class LiveTicket(BaseModel):
    """A single-use pass to open one live socket, stored under the SHA-256 of its secret (never the secret)."""

    ticket_hash: str
    workspace_id: str
    key_id: str
    expires_at: datetime

    @staticmethod
    def hash_of(ticket: str) -> str:
        return hashlib.sha256(ticket.encode()).hexdigest()


class LiveTicketIssued(BaseModel):
    """What ``POST /api/live/tickets`` answers: where to connect, and the ticket to connect with."""

    url: str = Field(description="The live WebSocket API of this stage (ws:// under make run, wss:// on AWS).")
    ticket: str = Field(description="Connect with ``?ticket=<ticket>``: works once, within ``expires_at``.")
    expires_at: datetime


def parse_type_filter(raw: str | list[str] | None) -> list[str]:
    """``"task.*,plugin.installed"`` (or a list) → patterns; ValidationFailedError for a bad one."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValidationFailedError("types must be a list of event type patterns.")
    patterns = sorted({i.strip() for i in items if i.strip()})
    bad = [p for p in patterns if not _PATTERN.match(p)]
    if bad:
        raise ValidationFailedError(
            "An event type pattern is an event type, a prefix ending in '.*', or '*'.", patterns=bad
        )
    if len(patterns) > MAX_FILTER_PATTERNS:
        raise ValidationFailedError(f"At most {MAX_FILTER_PATTERNS} type patterns.", count=len(patterns))
    return [] if "*" in patterns else patterns


def matches(patterns: list[str], event_type: str) -> bool:
    """True when the filter lets the type through (``task.*`` matches ``task.created``, not ``task``)."""
    if not patterns:
        return True
    return any(p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1])) for p in patterns)


def event_frame(event: EventEnvelope) -> str:
    """The text frame a client receives for an event: the envelope itself, or without ``data`` if too big."""
    frame = event.model_dump_json()
    if len(frame.encode()) <= MAX_FRAME_BYTES:
        return frame
    slim: dict[str, Any] = event.model_dump(mode="json", exclude={"data"})
    slim["data_omitted"] = True  # too large for one frame: fetch the resource it names instead
    return json.dumps(slim)


def reply_frame(kind: str, **fields: Any) -> str:
    """A control frame answering a client message (``live.pong``, ``live.subscribed``, ``live.error``)."""
    return json.dumps({"type": kind, **fields}, default=str)
