"""0001: backfill `search_text` on Plugins items that lack it.

Plugins written before the marketplace search existed have no `search_text`, which the search
(a `contains` filter) needs. `up` computes it from the stored document the way the repository
did when this migration was written (plugin id, name, description, publisher, lowercased) and
marks each item it touched; `down` removes `search_text` from exactly those items again. Items
the application wrote itself are never touched.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.migrations import MigrationContext

MIGRATION_ID = "0001"
DESCRIPTION = "Backfill search_text (lowercase id, name, description, publisher) on Plugins items lacking it"
MARKER = "search_text_backfilled_by"


def search_text(doc: dict[str, Any]) -> str:
    """The search text of a plugin document, frozen as of this migration."""
    parts = [doc.get("plugin_id", ""), doc.get("name", ""), doc.get("description", ""), doc.get("publisher", "")]
    return " ".join(str(p) for p in parts).lower()


def up(ctx: MigrationContext) -> None:
    from botocore.exceptions import ClientError

    for item in ctx.scan("plugins", FilterExpression="attribute_not_exists(search_text)"):
        doc = json.loads(item.get("doc", {}).get("S", "{}"))
        try:
            _backfill(ctx, item, doc)
        except ClientError as exc:
            # the application rewrote (or deleted) the item since the scan: nothing to backfill
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def _backfill(ctx: MigrationContext, item: dict[str, Any], doc: dict[str, Any]) -> None:
    ctx.dynamodb.update_item(
        TableName=ctx.table("plugins"),
        Key={"plugin_id": item["plugin_id"]},
        UpdateExpression="SET search_text = :t, #m = :m",
        # never overwrite a search_text the application wrote meanwhile
        ConditionExpression="attribute_exists(plugin_id) AND attribute_not_exists(search_text)",
        ExpressionAttributeNames={"#m": MARKER},
        ExpressionAttributeValues={":t": {"S": search_text(doc)}, ":m": {"S": MIGRATION_ID}},
    )


def down(ctx: MigrationContext) -> None:
    for item in ctx.scan(
        "plugins",
        FilterExpression="#m = :m",
        ExpressionAttributeNames={"#m": MARKER},
        ExpressionAttributeValues={":m": {"S": MIGRATION_ID}},
    ):
        ctx.dynamodb.update_item(
            TableName=ctx.table("plugins"),
            Key={"plugin_id": item["plugin_id"]},
            UpdateExpression="REMOVE search_text, #m",
            ExpressionAttributeNames={"#m": MARKER},
        )
