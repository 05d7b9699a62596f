"""Subscriptions: who receives an event type in a workspace (the dispatcher's one Query)."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamo.base import (
    TableMeta,
    Translate,
)

__all__ = ["DynamoSubscriptionRepository", "SubscriptionItem"]


class SubscriptionItem(Model):
    class Meta(TableMeta):
        purpose = "subscriptions"

    # "<workspace_id>#<event_type>": the dispatcher's one Query per event.
    pk = UnicodeAttribute(hash_key=True)
    target = UnicodeAttribute(range_key=True)  # installation#<id> | webhook#<id>


class DynamoSubscriptionRepository:
    def add(self, workspace_id: str, event_types: list[str], target: str) -> None:
        with Translate(), SubscriptionItem.batch_write() as batch:
            for t in sorted(set(event_types)):
                batch.save(SubscriptionItem(f"{workspace_id}#{t}", target))

    def remove(self, workspace_id: str, event_types: list[str], target: str) -> None:
        with Translate(), SubscriptionItem.batch_write() as batch:
            for t in sorted(set(event_types)):
                batch.delete(SubscriptionItem(f"{workspace_id}#{t}", target))

    def targets(self, workspace_id: str, event_type: str) -> list[str]:
        with Translate():
            return [i.target for i in SubscriptionItem.query(f"{workspace_id}#{event_type}")]
