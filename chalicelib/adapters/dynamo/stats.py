"""Publisher analytics counters: one meta-table item per plugin version (``stats#<plugin>``, ``<version>``).

Every counter and histogram bucket is a top-level number attribute moved by ``ADD`` (DynamoDB adds to
top-level attributes only), so concurrent writers never lose an update and nothing is read before it is
written. Bucket ``i`` of the duration histogram is attribute ``d<i>``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.base import MetaItem, Translate
from chalicelib.domain.stats import VersionCounters, bucket_of

__all__ = ["DynamoPluginStatsRepository", "stats_update"]

COUNTERS = ("installs", "uninstalls", "invocations", "errors")


def stats_key(plugin_id: str, version: str) -> MetaItem:
    """The (key-only) item a version's counters live on."""
    return MetaItem(f"stats#{plugin_id}", version)


def stats_update(*, duration_ms: float | None = None, **counts: int) -> list[Action]:
    """The ``ADD`` actions for some counters (and one duration), for an update or a transaction."""
    actions: list[Action] = [Path(name).add({"N": str(n)}) for name, n in counts.items() if n]
    if duration_ms is not None:
        actions.append(Path(f"d{bucket_of(duration_ms)}").add({"N": "1"}))
    return actions


class DynamoPluginStatsRepository:
    def add(
        self,
        plugin_id: str,
        version: str,
        *,
        installs: int = 0,
        uninstalls: int = 0,
        invocations: int = 0,
        errors: int = 0,
        duration_ms: float | None = None,
    ) -> None:
        actions = stats_update(
            installs=installs,
            uninstalls=uninstalls,
            invocations=invocations,
            errors=errors,
            duration_ms=duration_ms,
        )
        if actions:
            with Translate():
                stats_key(plugin_id, version).update(actions=actions)

    def for_plugin(self, plugin_id: str) -> list[VersionCounters]:
        connection = MetaItem._get_connection()
        items: list[dict[str, Any]] = []
        start = None
        with Translate():
            while True:
                page = connection.query(f"stats#{plugin_id}", exclusive_start_key=start)
                items.extend(page.get("Items", []))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
        return [_counters(item) for item in items]


def _counters(item: dict[str, Any]) -> VersionCounters:
    def number(name: str) -> int:
        return int(item.get(name, {}).get("N", "0"))

    durations = {int(name[1:]): number(name) for name in item if name[:1] == "d" and name[1:].isdigit()}
    return VersionCounters(
        version=item["sk"]["S"],
        **{name: number(name) for name in COUNTERS},
        durations={b: n for b, n in durations.items() if n},
    )
