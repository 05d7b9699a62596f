"""Invocations of plugins (with TTL)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.adapters.dynamo.base import (
    DocItem,
    TableMeta,
    Translate,
    page_start,
    page_token,
)
from chalicelib.domain.invocations import Invocation

__all__ = ["DynamoInvocationRepository", "InvocationItem"]


class InvocationItem(DocItem):
    class Meta(TableMeta):
        purpose = "invocations"

    installation_id = UnicodeAttribute(hash_key=True)
    invocation_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    expires_at = NumberAttribute()  # the table's TTL attribute (unix seconds)


class DynamoInvocationRepository:
    def put(self, invocation: Invocation) -> None:
        with Translate():
            InvocationItem(
                invocation.installation_id,
                invocation.invocation_id,
                status=invocation.status,
                expires_at=invocation.expires_at,
                doc=invocation.model_dump_json(),
            ).save()

    def get(self, installation_id: str, invocation_id: str) -> Invocation | None:
        # Strongly consistent: the broker reads the record a plugin's invocation wrote a moment ago.
        with Translate():
            try:
                item = InvocationItem.get(installation_id, invocation_id, consistent_read=True)
            except InvocationItem.DoesNotExist:
                return None
        return item.load(Invocation)

    def list(self, installation_id: str, *, limit: int, token: str | None) -> tuple[list[Invocation], str | None]:
        with Translate():
            it = InvocationItem.query(
                installation_id, scan_index_forward=False, limit=limit, last_evaluated_key=page_start(token)
            )
            items = [i.load(Invocation) for i in it]
            lek = it.last_evaluated_key
        return items, page_token(lek) if len(items) == limit else None
