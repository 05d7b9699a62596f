"""Plugin key-value storage, isolated per installation."""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamo.base import (
    TableMeta,
    Translate,
    get_or_none,
)

__all__ = ["DynamoPluginDataRepository", "PluginDataItem"]


class PluginDataItem(Model):
    class Meta(TableMeta):
        purpose = "plugin-data"

    # "<plugin_id>#<installation_id>": the plugin id leads so an IAM LeadingKeys condition can fence it in.
    installation_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    value = UnicodeAttribute()  # JSON


class DynamoPluginDataRepository:
    def get(self, partition: str, key: str) -> Any | None:
        with Translate():
            item = get_or_none(PluginDataItem, partition, key)
        return json.loads(item.value) if item is not None else None

    def put(self, partition: str, key: str, value: Any) -> None:
        with Translate():
            PluginDataItem(partition, key, value=json.dumps(value, separators=(",", ":"))).save()

    def delete(self, partition: str, key: str) -> None:
        with Translate():
            PluginDataItem(partition, key).delete()

    def delete_partition(self, partition: str) -> int:
        count = 0
        with Translate(), PluginDataItem.batch_write() as batch:
            for item in PluginDataItem.query(partition, attributes_to_get=["installation_id", "key"]):
                batch.delete(item)
                count += 1
        return count

    def list_keys(self, partition: str, *, prefix: str, limit: int) -> list[str]:
        cond = PluginDataItem.key.startswith(prefix) if prefix else None
        with Translate():
            return [
                i.key
                for i in PluginDataItem.query(
                    partition, range_key_condition=cond, limit=limit, attributes_to_get=["key"]
                )
            ]
