"""Webhooks, their deliveries and the delivery queue."""

from __future__ import annotations

import builtins
import threading

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.deliveries import Delivery, DeliveryJob, DeliveryStatus
from chalicelib.domain.models import (
    Webhook,
)

__all__ = ["InMemoryDeliveryQueue", "InMemoryDeliveryRepository", "InMemoryWebhookRepository"]


class InMemoryWebhookRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Webhook] = {}

    def put(self, webhook: Webhook) -> None:
        self.items[(webhook.workspace_id, webhook.webhook_id)] = webhook

    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        return self.items.get((workspace_id, webhook_id))

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Webhook], str | None]:
        items = [h for (ws, _), h in sorted(self.items.items()) if ws == workspace_id]
        return page(items, lambda h: {"workspace_id": h.workspace_id, "webhook_id": h.webhook_id}, limit, token)

    def delete(self, workspace_id: str, webhook_id: str) -> None:
        self.items.pop((workspace_id, webhook_id), None)


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


class InMemoryDeliveryQueue:
    """Jobs with the delay they were sent with, in order; tests pump them into the deliverer."""

    def __init__(self) -> None:
        self.jobs: list[tuple[DeliveryJob, int]] = []
        self._lock = threading.Lock()

    def send(self, job: DeliveryJob, *, delay_s: int) -> None:
        with self._lock:
            self.jobs.append((job.model_copy(deep=True), delay_s))

    def take_all(self) -> builtins.list[tuple[DeliveryJob, int]]:
        """Every queued job, removed from the queue."""
        with self._lock:
            jobs, self.jobs = self.jobs, []
            return jobs
