"""Listen sessions: open, long-poll for signed deliveries, close (``plugyard listen``; chalicelib/domain/listen.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from chalicelib.domain.errors import ListenSessionNotFoundError
from chalicelib.domain.listen import (
    LISTEN_IDLE_S,
    MAX_BATCH,
    MAX_WAIT_S,
    ListenBatch,
    ListenDelivery,
    ListenSession,
    ListenSessionCreated,
    OpenListenRequest,
    listen_connection_id,
)
from chalicelib.domain.live import LiveConnection, parse_type_filter
from chalicelib.domain.models import Caller
from chalicelib.domain.permissions import Action
from chalicelib.domain.webhook_signatures import new_secret, signed_headers
from chalicelib.ports import Clock, IdGenerator, ListenRepository, LiveConnectionRepository, SecretBox
from chalicelib.services.audit import AuditService

__all__ = ["ListenService"]

POLL_STEP_S = 0.1  # how often a waiting poll looks at the buffer


class ListenService:
    """A workspace admin's listen sessions; each receives the workspace's events through the live fan-out."""

    def __init__(
        self,
        sessions: ListenRepository,
        connections: LiveConnectionRepository,
        secrets: SecretBox,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sessions = sessions
        self._connections = connections
        self._secrets = secrets
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._sleep = sleep

    def open(self, caller: Caller, req: OpenListenRequest) -> ListenSessionCreated:
        """A new session and its secret (shown once); it lives while it is polled."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "listen.open")
        types = parse_type_filter(req.types)
        now = self._clock.now()
        session_id = self._ids.new_id()
        secret = new_secret()
        session = ListenSession(
            session_id=session_id,
            workspace_id=caller.workspace_id,
            key_id=caller.key_id,
            types=types,
            secret_ciphertext=self._secrets.encrypt(secret, context=_context(caller.workspace_id, session_id)),
            created_at=now,
            expires_at=now + timedelta(seconds=LISTEN_IDLE_S),
        )
        self._sessions.put(session)
        self._connections.put(self._connection(session))
        self._audit.record(caller.workspace_id, caller.actor, "listen.open", session_id, types=types)
        return ListenSessionCreated(
            session_id=session_id,
            types=types,
            secret=secret,
            expires_at=session.expires_at,
            poll=f"/api/listen/sessions/{session_id}/deliveries",
        )

    def poll(self, caller: Caller, session_id: str, wait_s: float) -> ListenBatch:
        """The buffered deliveries, signed now; waits up to ``wait_s`` for one. Polling keeps the session alive."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS)
        session = self._find(caller, session_id)
        session = session.model_copy(update={"expires_at": self._clock.now() + timedelta(seconds=LISTEN_IDLE_S)})
        self._sessions.put(session)
        self._connections.put(self._connection(session))
        deadline = time.monotonic() + max(0.0, min(wait_s, MAX_WAIT_S))
        taken = self._sessions.take(session_id, MAX_BATCH)
        while not taken and time.monotonic() < deadline:
            self._sleep(POLL_STEP_S)
            taken = self._sessions.take(session_id, MAX_BATCH)
        secret = self._secrets.decrypt(session.secret_ciphertext, context=_context(session.workspace_id, session_id))
        now = self._clock.now()
        deliveries = [
            # Exactly as a webhook delivery is signed (services/deliveries.py): webhook-id is the event id.
            ListenDelivery(
                delivery_id=event_id,
                event_type=event_type,
                headers={"content-type": "application/json", **signed_headers([secret], event_id, now, body)},
                body=body,
            )
            for event_id, event_type, body in taken
        ]
        return ListenBatch(deliveries=deliveries, expires_at=session.expires_at)

    def close(self, caller: Caller, session_id: str) -> None:
        """End a session now (it would expire anyway once no one polls it)."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "listen.close", session_id)
        self._find(caller, session_id)
        self._connections.delete(listen_connection_id(session_id))
        self._sessions.delete(session_id)
        self._audit.record(caller.workspace_id, caller.actor, "listen.close", session_id)

    def _find(self, caller: Caller, session_id: str) -> ListenSession:
        session = self._sessions.get(session_id)
        if session is None or session.workspace_id != caller.workspace_id or session.expires_at <= self._clock.now():
            raise ListenSessionNotFoundError(
                f"No listen session '{session_id}' in this workspace (sessions expire {LISTEN_IDLE_S} s after "
                "their last poll).",
                session_id=session_id,
            )
        return session

    @staticmethod
    def _connection(session: ListenSession) -> LiveConnection:
        return LiveConnection(
            connection_id=listen_connection_id(session.session_id),
            workspace_id=session.workspace_id,
            key_id=session.key_id,
            types=session.types,
            connected_at=session.created_at,
            expires_at=session.expires_at,
        )


def _context(workspace_id: str, session_id: str) -> dict[str, str]:
    return {"workspace_id": workspace_id, "listen_session": session_id}
