"""Plugin key-value storage, isolated per installation."""

from __future__ import annotations

import copy
import threading
from typing import Any

__all__ = ["InMemoryPluginDataRepository"]


class InMemoryPluginDataRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, partition: str, key: str) -> Any | None:
        with self._lock:
            return copy.deepcopy(self.items.get((partition, key)))

    def put(self, partition: str, key: str, value: Any) -> None:
        with self._lock:
            self.items[(partition, key)] = copy.deepcopy(value)

    def delete(self, partition: str, key: str) -> None:
        with self._lock:
            self.items.pop((partition, key), None)

    def list_keys(self, partition: str, *, prefix: str, limit: int) -> list[str]:
        with self._lock:
            keys = sorted(k for (p, k) in self.items if p == partition and k.startswith(prefix))
        return keys[:limit]

    def delete_partition(self, partition: str) -> int:
        with self._lock:
            doomed = [k for k in self.items if k[0] == partition]
            for k in doomed:
                del self.items[k]
        return len(doomed)
