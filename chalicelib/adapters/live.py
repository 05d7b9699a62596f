"""Live connections (in memory; DynamoDB meta table) and the senders that push frames to them.

DynamoDB layout, in ``plugyard-<stage>-meta`` (TTL attribute ``expires_at``):

* ``pk=ws#<workspace_id>``, ``sk=<connection_id>`` — the fan-out's one Query per event;
* ``pk=wsconn#<connection_id>``, ``sk=connection`` — $disconnect knows only the connection id;
* ``pk=wsticket#<sha256 of the ticket>``, ``sk=ticket`` — a single-use ticket to open a socket.

Senders: ``ApiGatewayLiveSender`` (the API Gateway Management API, ``post_to_connection``) on AWS;
``LoopbackLiveSender`` (an HTTP POST to the local websocket server's control port, chalicelib/local/live.py).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb import models
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError

from chalicelib.adapters.dynamo.base import TableMeta, Translate, bind_models, get_or_none, is_conditional
from chalicelib.config import Settings
from chalicelib.domain.errors import DependencyUnavailableError
from chalicelib.domain.live import LiveConnection, LiveTicket

__all__ = [
    "LIVE_SECRET_HEADER",
    "ApiGatewayLiveSender",
    "DynamoLiveConnectionRepository",
    "DynamoLiveTicketRepository",
    "InMemoryLiveConnectionRepository",
    "InMemoryLiveSender",
    "InMemoryLiveTicketRepository",
    "LoopbackLiveSender",
    "bind_live_tables",
    "live_sender",
]

LIVE_SECRET_HEADER = "X-Plugyard-Live-Secret"  # noqa: S105 - the header's name, not a secret


# --- connections ---------------------------------------------------------------------------------


class InMemoryLiveConnectionRepository:
    def __init__(self) -> None:
        self.items: dict[str, LiveConnection] = {}
        self._lock = threading.Lock()

    def put(self, connection: LiveConnection) -> None:
        with self._lock:
            self.items[connection.connection_id] = connection

    def get(self, connection_id: str) -> LiveConnection | None:
        with self._lock:
            return self.items.get(connection_id)

    def delete(self, connection_id: str) -> None:
        with self._lock:
            self.items.pop(connection_id, None)

    def list_for_workspace(self, workspace_id: str, *, now: datetime) -> list[LiveConnection]:
        with self._lock:
            return [c for c in self.items.values() if c.workspace_id == workspace_id and c.expires_at > now]


class LiveConnectionItem(models.Model):  # not `Model` in this module: tests/infra scans for models
    class Meta(TableMeta):
        purpose = "meta"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute()
    expires_at = NumberAttribute()  # the meta table's TTL attribute (epoch seconds)


def bind_live_tables(settings: Settings) -> None:
    """Point the connection items at ``plugyard-<stage>-meta`` on the configured endpoint."""
    bind_models((LiveConnectionItem,), settings)


def _by_id(connection_id: str) -> tuple[str, str]:
    return f"wsconn#{connection_id}", "connection"


class DynamoLiveConnectionRepository:
    def put(self, connection: LiveConnection) -> None:
        doc = connection.model_dump_json()
        ttl = int(connection.expires_at.timestamp())
        with Translate():
            LiveConnectionItem(
                f"ws#{connection.workspace_id}", connection.connection_id, doc=doc, expires_at=ttl
            ).save()
            LiveConnectionItem(*_by_id(connection.connection_id), doc=doc, expires_at=ttl).save()

    def get(self, connection_id: str) -> LiveConnection | None:
        with Translate():
            item = get_or_none(LiveConnectionItem, *_by_id(connection_id))
        return LiveConnection.model_validate_json(item.doc) if item else None

    def delete(self, connection_id: str) -> None:
        found = self.get(connection_id)
        with Translate():
            if found is not None:
                LiveConnectionItem(f"ws#{found.workspace_id}", connection_id).delete()
            LiveConnectionItem(*_by_id(connection_id)).delete()

    def list_for_workspace(self, workspace_id: str, *, now: datetime) -> list[LiveConnection]:
        # TTL deletion lags by up to a couple of days: expired rows are skipped here, not trusted to be gone.
        cutoff = int(now.timestamp())
        with Translate():
            items = [i for i in LiveConnectionItem.query(f"ws#{workspace_id}") if int(i.expires_at) > cutoff]
        return [LiveConnection.model_validate_json(i.doc) for i in items]


# --- tickets -------------------------------------------------------------------------------------


class InMemoryLiveTicketRepository:
    def __init__(self) -> None:
        self.items: dict[str, LiveTicket] = {}
        self._lock = threading.Lock()

    def put(self, ticket: LiveTicket) -> None:
        with self._lock:
            self.items[ticket.ticket_hash] = ticket

    def take(self, ticket_hash: str) -> LiveTicket | None:
        with self._lock:
            return self.items.pop(ticket_hash, None)


class DynamoLiveTicketRepository:
    def put(self, ticket: LiveTicket) -> None:
        with Translate():
            LiveConnectionItem(
                f"wsticket#{ticket.ticket_hash}",
                "ticket",
                doc=ticket.model_dump_json(),
                expires_at=int(ticket.expires_at.timestamp()),
            ).save()

    def take(self, ticket_hash: str) -> LiveTicket | None:
        with Translate():
            item = get_or_none(LiveConnectionItem, f"wsticket#{ticket_hash}", "ticket", consistent_read=True)
            if item is None:
                return None
            try:
                # Only the one delete that still finds the row wins: a ticket opens one socket, even when raced.
                item.delete(condition=LiveConnectionItem.pk.exists())
            except DeleteError as exc:
                if is_conditional(exc):
                    return None
                raise
        return LiveTicket.model_validate_json(item.doc)


# --- senders -------------------------------------------------------------------------------------


class InMemoryLiveSender:
    """Records frames per connection; connections in ``gone`` answer as API Gateway's GoneException does."""

    def __init__(self) -> None:
        self.frames: dict[str, list[str]] = {}
        self.gone: set[str] = set()

    def send(self, connection_id: str, frame: str) -> bool:
        if connection_id in self.gone:
            return False
        self.frames.setdefault(connection_id, []).append(frame)
        return True


class ApiGatewayLiveSender:
    """``apigatewaymanagementapi`` with ``endpoint_url=https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, connection_id: str, frame: str) -> bool:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=frame.encode())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "GoneException":
                return False
            raise DependencyUnavailableError("The WebSocket API refused a push.", connection_id=connection_id) from exc
        except BotoCoreError as exc:
            raise DependencyUnavailableError("The WebSocket API is unreachable.") from exc
        return True


class LoopbackLiveSender:
    """POSTs a frame to the local websocket server's control endpoint (same path as the Management API)."""

    def __init__(self, base_url: str, secret: str, *, timeout_s: float = 2.0) -> None:
        self._base = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout_s, headers={LIVE_SECRET_HEADER: secret})

    def send(self, connection_id: str, frame: str) -> bool:
        try:
            resp = self._client.post(f"{self._base}/@connections/{connection_id}", content=frame.encode())
        except httpx.HTTPError as exc:
            raise DependencyUnavailableError("The local websocket server is unreachable.") from exc
        if resp.status_code == 410:
            return False
        if resp.status_code >= 300:
            raise DependencyUnavailableError(
                f"The local websocket server answered {resp.status_code}.", connection_id=connection_id
            )
        return True


def live_sender(settings: Settings) -> ApiGatewayLiveSender | LoopbackLiveSender | None:
    """The sender Settings ask for: none without ``live_events_url``; loopback with ``live_secret``; else AWS."""
    url = settings.live_events_url
    if not url:
        return None
    if settings.live_secret is not None:
        return LoopbackLiveSender(url, settings.live_secret.get_secret_value())
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "apigatewaymanagementapi",
        region_name=settings.region,
        endpoint_url=url,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=5),
    )
    return ApiGatewayLiveSender(client)
