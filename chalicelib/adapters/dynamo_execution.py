"""PynamoDB repositories of plugin execution: Invocations (with TTL) and PluginData.

Kept beside ``dynamo.py`` (same item conventions, same error translation) so the execution tables can be
bound on their own; ``bind_execution_tables`` is called by the composition root after ``bind_tables``.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamo import _get_or_none, _Item, _Meta, _start, _token, _Translate, bind_models
from chalicelib.config import Settings
from chalicelib.domain.invocations import Invocation

__all__ = ["DynamoInvocationRepository", "DynamoPluginDataRepository", "bind_execution_tables"]


class InvocationItem(_Item):
    class Meta(_Meta):
        purpose = "invocations"

    installation_id = UnicodeAttribute(hash_key=True)
    invocation_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    expires_at = NumberAttribute()  # the table's TTL attribute (unix seconds)


class PluginDataItem(Model):
    class Meta(_Meta):
        purpose = "plugin-data"

    # "<plugin_id>#<installation_id>": the plugin id leads so an IAM LeadingKeys condition can fence it in.
    installation_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    value = UnicodeAttribute()  # JSON


EXECUTION_MODELS: tuple[type[Model], ...] = (InvocationItem, PluginDataItem)


def bind_execution_tables(settings: Settings) -> None:
    """Point the execution models at ``plugyard-<stage>-<purpose>`` on the configured endpoint."""
    bind_models(EXECUTION_MODELS, settings)


class DynamoInvocationRepository:
    def put(self, invocation: Invocation) -> None:
        with _Translate():
            InvocationItem(
                invocation.installation_id,
                invocation.invocation_id,
                status=invocation.status,
                expires_at=invocation.expires_at,
                doc=invocation.model_dump_json(),
            ).save()

    def list(self, installation_id: str, *, limit: int, token: str | None) -> tuple[list[Invocation], str | None]:
        with _Translate():
            it = InvocationItem.query(
                installation_id, scan_index_forward=False, limit=limit, last_evaluated_key=_start(token)
            )
            items = [i.load(Invocation) for i in it]
            lek = it.last_evaluated_key
        return items, _token(lek) if len(items) == limit else None


class DynamoPluginDataRepository:
    def get(self, partition: str, key: str) -> Any | None:
        with _Translate():
            item = _get_or_none(PluginDataItem, partition, key)
        return json.loads(item.value) if item is not None else None

    def put(self, partition: str, key: str, value: Any) -> None:
        with _Translate():
            PluginDataItem(partition, key, value=json.dumps(value, separators=(",", ":"))).save()

    def delete(self, partition: str, key: str) -> None:
        with _Translate():
            PluginDataItem(partition, key).delete()

    def delete_partition(self, partition: str) -> int:
        count = 0
        with _Translate(), PluginDataItem.batch_write() as batch:
            for item in PluginDataItem.query(partition, attributes_to_get=["installation_id", "key"]):
                batch.delete(item)
                count += 1
        return count

    def list_keys(self, partition: str, *, prefix: str, limit: int) -> list[str]:
        cond = PluginDataItem.key.startswith(prefix) if prefix else None
        with _Translate():
            return [
                i.key
                for i in PluginDataItem.query(
                    partition, range_key_condition=cond, limit=limit, attributes_to_get=["key"]
                )
            ]
