"""A delivery record: created from an event, and shown to the API as a summary or in full."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from chalicelib.domain.deliveries import Delivery, DeliveryDetail, DeliveryView, Trigger
from chalicelib.domain.models import EventEnvelope

__all__ = ["RETENTION", "delivery_detail", "delivery_view", "new_delivery"]


RETENTION = timedelta(days=30)


def new_delivery(workspace_id: str, webhook_id: str, event: EventEnvelope, now: datetime, trigger: Trigger) -> Delivery:
    """A pending delivery of ``event`` to one endpoint, kept for ``RETENTION``."""
    return Delivery(
        webhook_id=webhook_id,
        delivery_id=event.id,
        workspace_id=workspace_id,
        event_id=event.id,
        event_type=event.type,
        body=event.model_dump_json(),
        trigger=trigger,
        created_at=now,
        updated_at=now,
        expires_at=now + RETENTION,
    )


def delivery_view(d: Delivery) -> DeliveryView:
    """A delivery as listed: its state and latest attempt, without payload or earlier attempts."""
    return DeliveryView(
        delivery_id=d.delivery_id,
        webhook_id=d.webhook_id,
        event_id=d.event_id,
        event_type=d.event_type,
        status=d.status,
        attempt_count=d.attempt_count,
        last_status_code=d.attempts[-1].status_code if d.attempts else None,
        last_attempt=d.attempts[-1] if d.attempts else None,
        next_attempt_at=d.next_attempt_at,
        reason=d.reason,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def delivery_detail(d: Delivery) -> DeliveryDetail:
    """A delivery in full: its payload and every attempt."""
    return DeliveryDetail(**delivery_view(d).model_dump(), payload=json.loads(d.body), attempts=d.attempts)
