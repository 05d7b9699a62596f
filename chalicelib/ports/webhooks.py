"""Webhook endpoints and their deliveries: storage and the signed sender (jobs travel on ``WorkQueues``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.domain.deliveries import Delivery, DeliveryStatus, SendResult
from chalicelib.domain.models import Webhook
from chalicelib.ports.platform import Page

__all__ = ["DeliveryRepository", "WebhookRepository", "WebhookSender"]


class WebhookRepository(Protocol):
    def put(self, webhook: Webhook) -> None:
        """Create or replace the webhook, except its failure streak (``record_failure``/``reset_failures``)."""
        ...

    def record_failure(self, workspace_id: str, webhook_id: str, at: datetime) -> Webhook | None:
        """Count one failed attempt atomically (``failing_since`` set once); the webhook now, None if it is gone."""
        ...

    def reset_failures(self, workspace_id: str, webhook_id: str) -> None:
        """Forget the failure streak atomically (after a success or a re-enable); nothing if the webhook is gone."""
        ...

    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Webhook]: ...
    def delete(self, workspace_id: str, webhook_id: str) -> None: ...


class DeliveryRepository(Protocol):
    """Deliveries of one endpoint, keyed by (webhook_id, delivery_id); delivery ids sort by time."""

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None: ...
    def create(self, delivery: Delivery) -> bool:
        """Store a new delivery; False (and nothing written) if it already exists."""
        ...

    def save(self, delivery: Delivery) -> bool:
        """Write ``delivery`` if the stored version is still ``delivery.version``; bump it. False if not."""
        ...

    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        since_id: str | None,
        limit: int,
        token: str | None,
        newest_first: bool = True,
    ) -> Page[Delivery]: ...


class WebhookSender(Protocol):
    """Sends one signed POST to an endpoint, refusing unsafe addresses; never raises for HTTP trouble."""

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult: ...
