"""Webhooks and their deliveries.

A webhook's failure streak (``failed_attempts``, ``failing_since``) lives in attributes of its own, beside the
document, and changes only by atomic update expressions: concurrent deliverers never lose a count, and an edit
of the webhook (``put``) never overwrites one.
"""

from __future__ import annotations

import builtins
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters.dynamo.base import (
    DocItem,
    TableMeta,
    Translate,
    dump,
    get_or_none,
    is_conditional,
    page_start,
    page_token,
)
from chalicelib.domain.deliveries import Delivery, DeliveryStatus
from chalicelib.domain.models import Webhook

__all__ = ["DeliveryItem", "DynamoDeliveryRepository", "DynamoWebhookRepository", "WebhookItem"]


class WebhookItem(DocItem):
    class Meta(TableMeta):
        purpose = "webhooks"

    workspace_id = UnicodeAttribute(hash_key=True)
    webhook_id = UnicodeAttribute(range_key=True)
    failed_attempts = NumberAttribute(null=True)
    failing_since = UnicodeAttribute(null=True)

    def webhook(self) -> Webhook:
        hook = self.load(Webhook)
        hook.failed_attempts = int(self.failed_attempts or 0)
        hook.failing_since = datetime.fromisoformat(self.failing_since) if self.failing_since else None
        return hook


_STREAK = {"failed_attempts", "failing_since"}


class DeliveryItem(DocItem):
    class Meta(TableMeta):
        purpose = "deliveries"

    webhook_id = UnicodeAttribute(hash_key=True)
    delivery_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    version = NumberAttribute()
    expires_at = NumberAttribute()  # the table's TTL attribute (epoch seconds)


class DynamoWebhookRepository:
    def put(self, webhook: Webhook) -> None:
        item = WebhookItem(webhook.workspace_id, webhook.webhook_id)
        with Translate():
            item.update(actions=[WebhookItem.doc.set(webhook.model_dump_json(exclude=_STREAK))])

    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        with Translate():
            item = get_or_none(WebhookItem, workspace_id, webhook_id)
        return item.webhook() if item else None

    def record_failure(self, workspace_id: str, webhook_id: str, at: datetime) -> Webhook | None:
        item = WebhookItem(workspace_id, webhook_id)
        try:
            with Translate():
                item.update(
                    actions=[
                        WebhookItem.failed_attempts.add(1),
                        WebhookItem.failing_since.set(WebhookItem.failing_since | at.isoformat()),
                    ],
                    condition=WebhookItem.doc.exists(),  # never resurrect a deleted webhook as a bare counter
                )
        except UpdateError as exc:
            if is_conditional(exc):
                return None
            raise
        return item.webhook()

    def reset_failures(self, workspace_id: str, webhook_id: str) -> None:
        try:
            with Translate():
                WebhookItem(workspace_id, webhook_id).update(
                    actions=[WebhookItem.failed_attempts.set(0), WebhookItem.failing_since.remove()],
                    condition=WebhookItem.doc.exists(),
                )
        except UpdateError as exc:
            if not is_conditional(exc):
                raise

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Webhook], str | None]:
        with Translate():
            it = WebhookItem.query(workspace_id, limit=limit, last_evaluated_key=page_start(token))
            items = [i.webhook() for i in it]
            lek = it.last_evaluated_key
        return items, page_token(lek) if len(items) == limit else None

    def delete(self, workspace_id: str, webhook_id: str) -> None:
        WebhookItem(workspace_id, webhook_id).delete()


class DynamoDeliveryRepository:
    """Deliveries with an optimistic lock on ``version``: two workers never both record an attempt."""

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        with Translate():
            item = get_or_none(DeliveryItem, webhook_id, delivery_id)
        return self._load(item) if item else None

    def create(self, delivery: Delivery) -> bool:
        delivery.version = 1
        try:
            self._item(delivery).save(condition=DeliveryItem.webhook_id.does_not_exist())
        except PutError as exc:
            if is_conditional(exc):
                delivery.version = 0
                return False
            raise
        return True

    def save(self, delivery: Delivery) -> bool:
        expected = delivery.version
        delivery.version = expected + 1
        try:
            self._item(delivery).save(condition=DeliveryItem.version == expected)
        except PutError as exc:
            delivery.version = expected
            if is_conditional(exc):
                return False
            raise
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
        with Translate():
            it = DeliveryItem.query(
                webhook_id,
                range_key_condition=DeliveryItem.delivery_id >= since_id if since_id else None,
                filter_condition=DeliveryItem.status == status if status else None,
                scan_index_forward=not newest_first,
                limit=limit,
                page_size=max(limit, 100),
                last_evaluated_key=page_start(token),
            )
            items = [self._load(i) for i in it]
            lek = it.last_evaluated_key
        return items, page_token(lek) if len(items) == limit else None

    @staticmethod
    def _load(item: DeliveryItem) -> Delivery:
        delivery = item.load(Delivery)
        delivery.version = int(item.version)
        return delivery

    @staticmethod
    def _item(d: Delivery) -> DeliveryItem:
        return DeliveryItem(
            d.webhook_id,
            d.delivery_id,
            status=d.status,
            version=d.version,
            expires_at=int(d.expires_at.timestamp()),
            doc=dump(d),
        )
