"""Rate-limit windows in memory: the twin of ``adapters/dynamo/limits.py`` (one store = one shared table)."""

from __future__ import annotations

import threading

__all__ = ["InMemoryRateCounters"]


class InMemoryRateCounters:
    def __init__(self) -> None:
        self.windows: dict[tuple[str, int], dict[str, int]] = {}
        self._expiry: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def take(self, scope: str, window: int, caps: dict[str, int], *, expires_at: int) -> bool:
        with self._lock:
            counts = self.windows.setdefault((scope, window), {})
            if any(counts.get(name, 0) >= cap for name, cap in caps.items()):
                return False
            for name in caps:
                counts[name] = counts.get(name, 0) + 1
            self._expiry[(scope, window)] = expires_at
            # Forget windows long past, as the table's TTL does.
            for key in [k for k, exp in self._expiry.items() if exp < expires_at - 3600]:
                self.windows.pop(key, None)
                self._expiry.pop(key, None)
            return True
