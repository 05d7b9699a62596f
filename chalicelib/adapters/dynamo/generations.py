"""Cross-process cache generations in the meta table."""

from __future__ import annotations

from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.base import (
    MetaItem,
    Translate,
    get_or_none,
)
from chalicelib.domain.outbox import CacheGeneration

__all__ = ["DynamoGenerationStore", "check_generation", "generation_key"]


def generation_key(name: str) -> tuple[str, str]:
    """The meta table key of a generation counter."""
    return f"cache#{name}", "generation"


def check_generation(tx: TransactWrite, generation: CacheGeneration) -> None:
    """Add a check to ``tx`` that the counter still holds ``generation`` (0: was never bumped)."""
    condition: Condition = MetaItem.gen.does_not_exist() if generation.value == 0 else MetaItem.gen == generation.value
    tx.condition_check(MetaItem, *generation_key(generation.name), condition=condition)


class DynamoGenerationStore:
    """Cross-process cache generations: one atomic counter per name in the meta table."""

    def get(self, name: str) -> int:
        with Translate():
            item = get_or_none(MetaItem, *generation_key(name))
        return int(item.gen or 0) if item else 0

    def bump(self, name: str) -> int:
        item = MetaItem(*generation_key(name))
        with Translate():
            item.update(actions=[MetaItem.gen.add(1)])
        return int(item.gen or 0)
