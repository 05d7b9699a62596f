"""In-memory twins of the execution ports: invocations and plugin storage (unit tests, the fake world)."""

from __future__ import annotations

import copy
import threading
from typing import Any

from chalicelib.adapters.memory import _page
from chalicelib.domain.invocations import Invocation

__all__ = ["InMemoryInvocationRepository", "InMemoryPluginDataRepository"]


class InMemoryInvocationRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Invocation] = {}

    def put(self, invocation: Invocation) -> None:
        self.items[(invocation.installation_id, invocation.invocation_id)] = invocation

    def list(self, installation_id: str, *, limit: int, token: str | None) -> tuple[list[Invocation], str | None]:
        found = sorted(
            (i for (inst, _), i in self.items.items() if inst == installation_id),
            key=lambda i: i.invocation_id,
            reverse=True,
        )
        return _page(
            found, lambda i: {"installation_id": i.installation_id, "invocation_id": i.invocation_id}, limit, token
        )


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
