"""Cross-process cache generations in the meta table."""

from __future__ import annotations

from chalicelib.adapters.dynamo.base import (
    MetaItem,
    Translate,
    get_or_none,
)

__all__ = ["DynamoGenerationStore"]


class DynamoGenerationStore:
    """Cross-process cache generations: one atomic counter per name in the meta table."""

    def get(self, name: str) -> int:
        with Translate():
            item = get_or_none(MetaItem, f"cache#{name}", "generation")
        return int(item.gen or 0) if item else 0

    def bump(self, name: str) -> int:
        item = MetaItem(f"cache#{name}", "generation")
        with Translate():
            item.update(actions=[MetaItem.gen.add(1)])
        return int(item.gen or 0)
