"""Live events over WebSocket: open connections and the sender that pushes frames to them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.domain.listen import ListenSession
from chalicelib.domain.live import LiveConnection, LiveTicket

__all__ = ["ListenRepository", "LiveConnectionRepository", "LiveSender", "LiveTicketRepository"]


class LiveConnectionRepository(Protocol):
    """Open WebSocket connections, found by workspace (fan-out) and by connection id ($disconnect)."""

    def put(self, connection: LiveConnection) -> None: ...
    def get(self, connection_id: str) -> LiveConnection | None: ...
    def delete(self, connection_id: str) -> None: ...
    def list_for_workspace(self, workspace_id: str, *, now: datetime) -> list[LiveConnection]:
        """The workspace's connections that have not expired at ``now``."""
        ...


class LiveTicketRepository(Protocol):
    """Single-use tickets that open a live socket (browsers cannot send a key header on a WebSocket)."""

    def put(self, ticket: LiveTicket) -> None: ...
    def take(self, ticket_hash: str) -> LiveTicket | None:
        """The ticket, removed so that it never works twice; None when unknown or already taken."""
        ...


class LiveSender(Protocol):
    """Pushes one text frame to one connection (API Gateway Management API; the local websocket server).

    Returns False when the connection is gone (the caller forgets it); raises for anything else.
    """

    def send(self, connection_id: str, frame: str) -> bool: ...


class ListenRepository(Protocol):
    """Listen sessions (chalicelib/domain/listen.py) and the events buffered for their next poll."""

    def put(self, session: ListenSession) -> None: ...
    def get(self, session_id: str) -> ListenSession | None: ...
    def delete(self, session_id: str) -> None:
        """The session and whatever it still buffers."""
        ...

    def append(self, session: ListenSession, event_id: str, event_type: str, body: str) -> None: ...
    def take(self, session_id: str, limit: int) -> list[tuple[str, str, str]]:
        """Up to ``limit`` buffered (event id, event type, body), oldest first, removed from the buffer."""
        ...
