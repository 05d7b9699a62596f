"""Webhooks and their deliveries."""

from __future__ import annotations

import builtins
import threading
from datetime import datetime

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.deliveries import Delivery, DeliveryStatus
from chalicelib.domain.models import Webhook

__all__ = ["InMemoryDeliveryRepository", "InMemoryWebhookRepository"]


class InMemoryWebhookRepository:
    """Like the DynamoDB twin, the failure streak is kept beside the webhook and changed only atomically."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Webhook] = {}
        self.streaks: dict[tuple[str, str], tuple[int, datetime | None]] = {}
        self._lock = threading.Lock()

    def put(self, webhook: Webhook) -> None:
        with self._lock:
            self.items[(webhook.workspace_id, webhook.webhook_id)] = webhook.model_copy(deep=True)

    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        with self._lock:
            return self._view((workspace_id, webhook_id))

    def record_failure(self, workspace_id: str, webhook_id: str, at: datetime) -> Webhook | None:
        key = (workspace_id, webhook_id)
        with self._lock:
            if key not in self.items:
                return None
            count, since = self.streaks.get(key, (0, None))
            self.streaks[key] = (count + 1, since or at)
            return self._view(key)

    def reset_failures(self, workspace_id: str, webhook_id: str) -> None:
        with self._lock:
            if (workspace_id, webhook_id) in self.items:
                self.streaks[(workspace_id, webhook_id)] = (0, None)

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Webhook], str | None]:
        with self._lock:
            items = [v for k in sorted(self.items) if k[0] == workspace_id and (v := self._view(k)) is not None]
        return page(items, lambda h: {"workspace_id": h.workspace_id, "webhook_id": h.webhook_id}, limit, token)

    def delete(self, workspace_id: str, webhook_id: str) -> None:
        with self._lock:
            self.items.pop((workspace_id, webhook_id), None)
            self.streaks.pop((workspace_id, webhook_id), None)

    def _view(self, key: tuple[str, str]) -> Webhook | None:
        hook = self.items.get(key)
        if hook is None:
            return None
        count, since = self.streaks.get(key, (0, None))
        return hook.model_copy(deep=True, update={"failed_attempts": count, "failing_since": since})


class InMemoryDeliveryRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Delivery] = {}
        self._lock = threading.Lock()

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        d = self.items.get((webhook_id, delivery_id))
        return d.model_copy(deep=True) if d else None

    def create(self, delivery: Delivery) -> bool:
        with self._lock:
            key = (delivery.webhook_id, delivery.delivery_id)
            if key in self.items:
                return False
            delivery.version = 1
            self.items[key] = delivery.model_copy(deep=True)
            return True

    def save(self, delivery: Delivery) -> bool:
        with self._lock:
            key = (delivery.webhook_id, delivery.delivery_id)
            current = self.items.get(key)
            if current is None or current.version != delivery.version:
                return False
            delivery.version += 1
            self.items[key] = delivery.model_copy(deep=True)
            return True

    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        since_id: str | None,
        limit: int,
        token: str | None,
        newest_first: bool = True,
    ) -> tuple[builtins.list[Delivery], str | None]:
        found = sorted(
            (
                d
                for (wid, did), d in self.items.items()
                if wid == webhook_id and (status is None or d.status == status) and (not since_id or did >= since_id)
            ),
            key=lambda d: d.delivery_id,
            reverse=newest_first,
        )
        return page(found, lambda d: {"webhook_id": d.webhook_id, "delivery_id": d.delivery_id}, limit, token)
