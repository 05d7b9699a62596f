"""Publisher analytics counters in memory."""

from __future__ import annotations

import threading

from chalicelib.domain.stats import VersionCounters, bucket_of

__all__ = ["InMemoryPluginStatsRepository"]


class InMemoryPluginStatsRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], VersionCounters] = {}
        self._lock = threading.Lock()

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
        with self._lock:
            c = self.items.setdefault((plugin_id, version), VersionCounters(version=version))
            c.installs += installs
            c.uninstalls += uninstalls
            c.invocations += invocations
            c.errors += errors
            if duration_ms is not None:
                bucket = bucket_of(duration_ms)
                c.durations[bucket] = c.durations.get(bucket, 0) + 1

    def for_plugin(self, plugin_id: str) -> list[VersionCounters]:
        with self._lock:
            return [c.model_copy(deep=True) for (p, _), c in sorted(self.items.items()) if p == plugin_id]
