"""Plugin triggers, kept in the meta table."""

from __future__ import annotations

from chalicelib.adapters.dynamo.base import (
    MetaItem,
    Translate,
    get_or_none,
)
from chalicelib.domain.triggers import Trigger

__all__ = ["DynamoTriggerRepository"]


def _trigger_pk(installation_id: str) -> str:
    return f"trigger#{installation_id}"


class DynamoTriggerRepository:
    """Triggers live in the meta table under ``trigger#<installation_id>`` / ``<name>``."""

    def get(self, installation_id: str, name: str) -> Trigger | None:
        with Translate():
            item = get_or_none(MetaItem, _trigger_pk(installation_id), name)
        return Trigger.model_validate_json(item.doc) if item and item.doc else None

    def put(self, trigger: Trigger) -> None:
        with Translate():
            MetaItem(_trigger_pk(trigger.installation_id), trigger.name, doc=trigger.model_dump_json()).save()

    def list(self, installation_id: str) -> list[Trigger]:
        with Translate():
            return [Trigger.model_validate_json(i.doc) for i in MetaItem.query(_trigger_pk(installation_id)) if i.doc]

    def delete_all(self, installation_id: str) -> None:
        with Translate(), MetaItem.batch_write() as batch:
            for item in MetaItem.query(_trigger_pk(installation_id)):
                batch.delete(item)
