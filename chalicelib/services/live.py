"""Live events: WebSocket clients of a workspace connect with its API key and receive its events as they happen.

Browsers cannot set a header on a WebSocket, and a key in a URL ends up in access logs: they ask
``POST /api/live/tickets`` (with the key, as a header) for a single-use ticket that lives 30 seconds, and
connect with ``?ticket=``. Other clients may send ``Authorization: Bearer <key>`` on the handshake.

The websocket handlers (chalicelib/api/live.py) call ``connect``/``message``/``disconnect``; the dispatcher
calls ``push`` for every event it handles (DispatchService's ``live`` seam). Delivery is best effort and
at most once: a client that needs every event reconciles through the API (docs/events.md, "Live events").
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from chalicelib.domain.errors import (
    LiveEventsDisabledError,
    PlugyardError,
    UnauthenticatedError,
    ValidationFailedError,
)
from chalicelib.domain.live import (
    TICKET_TTL,
    LiveConnection,
    LiveTicket,
    LiveTicketIssued,
    event_frame,
    matches,
    parse_type_filter,
    reply_frame,
)
from chalicelib.domain.models import Caller, EventEnvelope
from chalicelib.domain.permissions import Action
from chalicelib.ports import Clock, LiveConnectionRepository, LiveSender, LiveTicketRepository
from chalicelib.services.audit import AuditService
from chalicelib.services.auth import AuthService

__all__ = ["LivePushResult", "LiveService"]

log = logging.getLogger(__name__)


class LivePushResult(BaseModel):
    """What one event's fan-out did."""

    event_id: str
    sent: int
    gone: int
    failed: int


class LiveService:
    """Connections of live clients, and the fan-out of a workspace's events to them."""

    def __init__(
        self,
        connections: LiveConnectionRepository,
        sender: LiveSender | None,
        auth: AuthService,
        audit: AuditService,
        clock: Clock,
        *,
        tickets: LiveTicketRepository,
        public_url: str | None = None,
        connection_ttl_s: int = 2 * 3600,
        max_per_workspace: int = 100,
    ) -> None:
        self._connections = connections
        self._tickets = tickets
        self.public_url = public_url
        self._sender = sender
        self._auth = auth
        self._audit = audit
        self._clock = clock
        self._ttl = timedelta(seconds=connection_ttl_s)
        self._max = max_per_workspace

    @property
    def enabled(self) -> bool:
        """False when no sender is configured (Settings.live_events_url unset): nothing is pushed."""
        return self._sender is not None

    def issue_ticket(self, caller: Caller) -> LiveTicketIssued:
        """A single-use ticket for one live socket of the caller's workspace, and the URL to open it on."""
        self._audit.authorize(caller, Action.READ_TASKS)
        if not self.public_url:
            raise LiveEventsDisabledError("This stage has no live WebSocket API to connect to.")
        ticket = "lvt_" + secrets.token_urlsafe(24)
        expires_at = self._clock.now() + TICKET_TTL
        self._tickets.put(
            LiveTicket(
                ticket_hash=LiveTicket.hash_of(ticket),
                workspace_id=caller.workspace_id,
                key_id=caller.key_id,
                expires_at=expires_at,
            )
        )
        return LiveTicketIssued(url=self.public_url, ticket=ticket, expires_at=expires_at)

    def connect(
        self, connection_id: str, *, key: str | None, types: str | None, ticket: str | None = None
    ) -> LiveConnection:
        """Authenticate a new connection (a ticket, else a key) and remember it.

        UnauthenticatedError/ForbiddenError/ValidationFailedError refuse the handshake.
        """
        if ticket is not None:
            workspace_id, key_id = self._redeem(ticket)
        else:
            caller = self._auth.authenticate(f"Bearer {key}" if key else None)
            self._audit.authorize(caller, Action.READ_TASKS)
            workspace_id, key_id = caller.workspace_id, caller.key_id
        patterns = parse_type_filter(types)
        now = self._clock.now()
        if len(self._connections.list_for_workspace(workspace_id, now=now)) >= self._max:
            raise ValidationFailedError(
                f"The workspace has {self._max} live connections open; close one first.", limit=self._max
            )
        connection = LiveConnection(
            connection_id=connection_id,
            workspace_id=workspace_id,
            key_id=key_id,
            types=patterns,
            connected_at=now,
            expires_at=now + self._ttl,
        )
        self._connections.put(connection)
        log.info("live connection opened", extra={"workspace_id": workspace_id, "connection_id": connection_id})
        return connection

    def _redeem(self, ticket: str) -> tuple[str, str]:
        """The workspace and key id a ticket was issued for; it is spent whether or not it is still valid."""
        found = self._tickets.take(LiveTicket.hash_of(ticket))
        if found is None or found.expires_at <= self._clock.now():
            raise UnauthenticatedError("The live ticket is unknown, already used or expired; ask for a new one.")
        return found.workspace_id, found.key_id

    def disconnect(self, connection_id: str) -> None:
        """Forget a connection (idempotent: $disconnect may come after a push found it gone)."""
        self._connections.delete(connection_id)

    def message(self, connection_id: str, body: str) -> None:
        """Answer a client message on its socket: ``{"action": "ping"}``, ``{"action": "subscribe", "types": []}``."""
        connection = self._connections.get(connection_id)
        if connection is None:
            return  # disconnected meanwhile, or never authenticated: nobody to answer
        reply = self._answer(connection, body)
        self._send(connection_id, reply)

    def _answer(self, connection: LiveConnection, body: str) -> str:
        try:
            msg: Any = json.loads(body)
        except ValueError:
            return reply_frame("live.error", code="invalid-request", detail="Messages are JSON objects.")
        action = msg.get("action") if isinstance(msg, dict) else None
        if action == "ping":
            return reply_frame("live.pong", time=self._clock.now().isoformat())
        if action == "subscribe":
            try:
                patterns = parse_type_filter(msg.get("types"))
            except ValidationFailedError as exc:
                return reply_frame("live.error", code=exc.code, detail=exc.detail)
            self._connections.put(connection.model_copy(update={"types": patterns}))
            return reply_frame("live.subscribed", types=patterns)
        return reply_frame(
            "live.error", code="invalid-request", detail="Unknown action; use 'ping' or 'subscribe'.", action=action
        )

    def push(self, event: EventEnvelope) -> LivePushResult:
        """Send the event to every live connection of its workspace whose filter matches it."""
        sent = gone = failed = 0
        frame: str | None = None
        if self._sender is None:
            return LivePushResult(event_id=event.id, sent=0, gone=0, failed=0)
        for connection in self._connections.list_for_workspace(event.workspace_id, now=self._clock.now()):
            if connection.workspace_id != event.workspace_id or not matches(connection.types, event.type):
                continue
            frame = frame or event_frame(event)
            outcome = self._send(connection.connection_id, frame)
            sent += outcome == "sent"
            gone += outcome == "gone"
            failed += outcome == "failed"
        return LivePushResult(event_id=event.id, sent=sent, gone=gone, failed=failed)

    def _send(self, connection_id: str, frame: str) -> str:
        if self._sender is None:
            return "failed"
        try:
            if self._sender.send(connection_id, frame):
                return "sent"
        except (PlugyardError, OSError) as exc:
            log.warning("live push failed", extra={"connection_id": connection_id, "error": str(exc)})
            return "failed"
        self._connections.delete(connection_id)  # the client went away without a $disconnect reaching us
        return "gone"
