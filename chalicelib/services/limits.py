"""Rate and concurrency limits on invocations, per installation and per plugin, so no plugin starves the rest.

Token buckets refill continuously; concurrency is a counted semaphore that never blocks (a full slot is a
429 at once, not a queue that ties up API threads). Limits hold per API process; on AWS the plugin's
Lambda function additionally gets reserved concurrency.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib.domain.errors import TooManyRequestsError

__all__ = ["InvocationLimiter", "LimitSettings"]


@dataclass(frozen=True)
class LimitSettings:
    """The documented per-installation and per-plugin limits."""

    installation_rate: float = 10.0
    installation_burst: int = 20
    plugin_rate: float = 50.0
    plugin_burst: int = 100
    installation_concurrency: int = 4
    plugin_concurrency: int = 16


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class InvocationLimiter:
    """``with limiter.admit(installation_id, plugin_id): ...`` or TooManyRequestsError with retry_after_s."""

    def __init__(self, settings: LimitSettings, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._now = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._running: dict[str, int] = {}

    @contextmanager
    def admit(self, installation_id: str, plugin_id: str) -> Iterator[None]:
        """Hold one slot of each limit for the duration of the block."""
        s = self.settings
        inst, plug = f"i:{installation_id}", f"p:{plugin_id}"
        with self._lock:
            now = self._now()
            for key, limit, scope in (
                (inst, s.installation_concurrency, "installation"),
                (plug, s.plugin_concurrency, "plugin"),
            ):
                if self._running.get(key, 0) >= limit:
                    raise TooManyRequestsError(
                        f"This {scope} already runs {limit} invocations at once; retry shortly.",
                        retry_after_s=1,
                        limit=f"{scope}-concurrency",
                    )
            wait = max(
                self._wait(inst, s.installation_rate, s.installation_burst, now),
                self._wait(plug, s.plugin_rate, s.plugin_burst, now),
            )
            if wait > 0:
                raise TooManyRequestsError(
                    "Too many invocations; retry after the Retry-After delay.",
                    retry_after_s=max(1, math.ceil(wait)),
                    limit="rate",
                )
            for key in (inst, plug):
                self._buckets[key].tokens -= 1
                self._running[key] = self._running.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for key in (inst, plug):
                    left = self._running.get(key, 1) - 1
                    if left:
                        self._running[key] = left
                    else:
                        self._running.pop(key, None)

    def _wait(self, key: str, rate: float, burst: int, now: float) -> float:
        """Seconds until one token is available (refilling the bucket first)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(burst), now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / rate
