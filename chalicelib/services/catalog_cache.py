"""The marketplace metadata cache: a snapshot of every plugin, 1-hour TTL, invalidated across processes.

Every read checks one generation counter (a single small GetItem); publish, approve, reject, yank,
deprecate and publisher verification bump it, so every process reloads on its next read. A writer that can
check the generation itself at commit (an install's transaction) reads the cache without that GetItem
(``memo_at``) and names the generation it read under; the commit fails if it moved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from chalicelib.domain.models import Plugin
from chalicelib.domain.outbox import CacheGeneration
from chalicelib.domain.pagination import every_item
from chalicelib.ports import Clock, GenerationStore, Metrics, PluginRepository

__all__ = ["CacheStats", "MarketplaceCache"]

GENERATION = "marketplace"
T = TypeVar("T")


@dataclass
class CacheStats:
    """Hits and misses since the process started."""

    hits: int = 0
    misses: int = 0

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class MarketplaceCache:
    """Holds the plugin catalog in memory for up to ``ttl_s``, while its generation is current."""

    def __init__(
        self,
        plugins: PluginRepository,
        generations: GenerationStore,
        clock: Clock,
        *,
        ttl_s: float = 3600,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._plugins = plugins
        self._generations = generations
        self._clock = clock
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._snapshot: list[Plugin] | None = None
        self._memo: dict[str, object] = {}
        self._generation = -1
        self._loaded_at = 0.0
        self.stats = CacheStats()

    def plugins(self) -> list[Plugin]:
        """Every plugin record, from the cache when it is fresh."""
        return self._at(self._generations.get(GENERATION))

    def plugin_checked(self, plugin_id: str) -> Plugin | None:
        """One plugin's record as stored now (its install count moves with every install), read in the same
        round trip as the generation, which is then checked as ``plugins`` checks it: one read for both."""
        plugin, generation = self._plugins.get_at_generation(plugin_id, GENERATION)
        self._at(generation)
        return plugin

    def _at(self, generation: int) -> list[Plugin]:
        """The snapshot, reloaded first unless it is of ``generation`` and within its TTL."""
        now = self._clock.now().timestamp()
        with self._lock:
            fresh = self._snapshot is not None and generation == self._generation
            hit = fresh and now - self._loaded_at < self._ttl_s
            if hit:
                self.stats.hits += 1
                snapshot = self._snapshot or []
            else:
                self.stats.misses += 1
        if self._metrics is not None:
            self._metrics.add("CacheHits" if hit else "CacheMisses")
        if hit:
            return snapshot
        snapshot = self._load()
        with self._lock:
            self._snapshot, self._generation, self._loaded_at = snapshot, generation, now
            self._memo = {}
        return snapshot

    def memo(self, key: str, load: Callable[[], T]) -> T:
        """A value derived from catalog data (e.g. a publisher's versions), kept until the next reload."""
        return self.memo_checked(key, load)[0]

    def memo_checked(self, key: str, load: Callable[[], T]) -> tuple[T, CacheGeneration]:
        """``memo``, with the generation the value belongs to."""
        self.plugins()  # checks the generation: a stale memo is dropped with the stale snapshot
        return self._memo_in(key, load)

    def memo_current(self, key: str, load: Callable[[], T]) -> T:
        """Like ``memo`` for callers that already checked the generation in this request."""
        return self._memo_in(key, load)[0]

    def memo_at(self, key: str, load: Callable[[], T]) -> tuple[T, CacheGeneration] | None:
        """A memo with the generation its snapshot was loaded at, without reading the generation now.

        For a writer whose commit checks that generation (``CacheGeneration`` in the same transaction): if the
        catalog changed meanwhile the commit fails, and the writer asks again through ``memo_checked``. None
        when no snapshot is held (or it is past its TTL).
        """
        now = self._clock.now().timestamp()
        with self._lock:
            if self._snapshot is None or now - self._loaded_at >= self._ttl_s:
                return None
        return self._memo_in(key, load)

    def _memo_in(self, key: str, load: Callable[[], T]) -> tuple[T, CacheGeneration]:
        with self._lock:
            memo, generation = self._memo, CacheGeneration(GENERATION, self._generation)
            if key in memo:
                return memo[key], generation  # type: ignore[return-value]
        # Loaded after that generation was read, so at least as new as it.
        value = load()
        with self._lock:
            # Kept only if no reload happened during the load: a value read before a newer generation was
            # loaded must not be kept under it.
            if self._memo is memo:
                memo[key] = value
        return value, generation

    def invalidate(self) -> None:
        """Tell every process (this one included) to reload on its next read."""
        self._generations.bump(GENERATION)

    def _load(self) -> list[Plugin]:
        return list(every_item(lambda token: self._plugins.search(query=None, category=None, limit=100, token=token)))
