"""Listen sessions and their buffered events (in memory; DynamoDB meta table), and the sender that fills them.

DynamoDB layout, in ``plugyard-<stage>-meta`` (TTL attribute ``expires_at``):

* ``pk=listen#<session_id>``, ``sk=session`` — the session (its secret encrypted);
* ``pk=listenq#<session_id>``, ``sk=<event id>`` — an event waiting for the next poll (ULIDs sort by time).

``ListenAwareSender`` wraps the live fan-out's sender: a connection id ``listen-<session>`` is a session's
buffer, any other goes to the WebSocket sender as before.
"""

from __future__ import annotations

import json
import threading

from pynamodb import models
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.adapters.dynamo.base import TableMeta, Translate, bind_models, get_or_none
from chalicelib.config import Settings
from chalicelib.domain.listen import ListenSession, session_of_connection
from chalicelib.ports import Clock, ListenRepository, LiveSender

__all__ = [
    "DynamoListenRepository",
    "InMemoryListenRepository",
    "ListenAwareSender",
    "bind_listen_tables",
]

Buffered = tuple[str, str, str]  # (event id, event type, body): ports.ListenRepository


class InMemoryListenRepository:
    def __init__(self) -> None:
        self.sessions: dict[str, ListenSession] = {}
        self.queued: dict[str, dict[str, Buffered]] = {}
        self._lock = threading.Lock()

    def put(self, session: ListenSession) -> None:
        with self._lock:
            self.sessions[session.session_id] = session

    def get(self, session_id: str) -> ListenSession | None:
        with self._lock:
            return self.sessions.get(session_id)

    def delete(self, session_id: str) -> None:
        with self._lock:
            self.sessions.pop(session_id, None)
            self.queued.pop(session_id, None)

    def append(self, session: ListenSession, event_id: str, event_type: str, body: str) -> None:
        with self._lock:
            self.queued.setdefault(session.session_id, {})[event_id] = (event_id, event_type, body)

    def take(self, session_id: str, limit: int) -> list[Buffered]:
        with self._lock:
            queue = self.queued.get(session_id, {})
            taken = [queue.pop(k) for k in sorted(queue)[:limit]]
        return taken


class ListenItem(models.Model):  # not `Model` in this module: tests/infra scans for models
    class Meta(TableMeta):
        purpose = "meta"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute()
    expires_at = NumberAttribute()  # the meta table's TTL attribute (epoch seconds)


def bind_listen_tables(settings: Settings) -> None:
    """Point the listen items at ``plugyard-<stage>-meta`` on the configured endpoint."""
    bind_models((ListenItem,), settings)


class DynamoListenRepository:
    def put(self, session: ListenSession) -> None:
        with Translate():
            ListenItem(
                f"listen#{session.session_id}",
                "session",
                doc=session.model_dump_json(),
                expires_at=int(session.expires_at.timestamp()),
            ).save()

    def get(self, session_id: str) -> ListenSession | None:
        with Translate():
            item = get_or_none(ListenItem, f"listen#{session_id}", "session")
        return ListenSession.model_validate_json(item.doc) if item else None

    def delete(self, session_id: str) -> None:
        with Translate():
            ListenItem(f"listen#{session_id}", "session").delete()
            with ListenItem.batch_write() as batch:
                for item in ListenItem.query(f"listenq#{session_id}"):
                    batch.delete(item)

    def append(self, session: ListenSession, event_id: str, event_type: str, body: str) -> None:
        doc = json.dumps({"type": event_type, "body": body})
        with Translate():
            ListenItem(
                f"listenq#{session.session_id}", event_id, doc=doc, expires_at=int(session.expires_at.timestamp())
            ).save()

    def take(self, session_id: str, limit: int) -> list[Buffered]:
        # Read then delete: a poll that fails between the two hands the same events out again (at least once,
        # like every delivery; receivers deduplicate on webhook-id).
        with Translate():
            items = list(ListenItem.query(f"listenq#{session_id}", limit=limit))
            if items:
                with ListenItem.batch_write() as batch:
                    for item in items:
                        batch.delete(item)
        out: list[Buffered] = []
        for item in items:
            doc = json.loads(item.doc)
            out.append((item.sk, str(doc["type"]), str(doc["body"])))
        return out


class ListenAwareSender:
    """The live fan-out's sender: listen sessions get the frame buffered, WebSockets get it pushed."""

    def __init__(self, repo: ListenRepository, sockets: LiveSender | None, clock: Clock) -> None:
        self._repo = repo
        self._sockets = sockets
        self._clock = clock

    def send(self, connection_id: str, frame: str) -> bool:
        session_id = session_of_connection(connection_id)
        if session_id is None:
            if self._sockets is None:
                return False  # no WebSocket API here: nobody can be connected to it
            return self._sockets.send(connection_id, frame)
        session = self._repo.get(session_id)
        if session is None or session.expires_at <= self._clock.now():
            return False  # closed or unpolled: the fan-out forgets its connection record
        envelope = json.loads(frame)
        self._repo.append(session, str(envelope["id"]), str(envelope.get("type", "")), frame)
        return True
