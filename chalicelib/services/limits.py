"""Rate and concurrency limits on invocations, per installation and per plugin, so no plugin starves the rest.

Rates are fixed windows of ``burst / rate`` seconds holding at most ``burst`` calls each (10/s sustained with a
burst of 20 is 20 calls per 2 s window), counted in shared storage (``RateCounters``: DynamoDB on AWS and
locally), so every API process and worker enforces one limit together. Both limits are counted by one atomic
update, so admitting a call costs one round trip and a refused call counts nothing.

Concurrency is a counted semaphore per process that never blocks (a full slot is a 429 at once, not a queue
that ties up API threads); on AWS the plugin's Lambda function additionally gets reserved concurrency.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib.domain.errors import TooManyRequestsError
from chalicelib.ports import RateCounters

__all__ = ["InvocationLimiter", "LimitSettings"]

# Storage keeps a window this long after it ends (clock skew between processes, then the TTL sweeps it).
WINDOW_GRACE_S = 60


@dataclass(frozen=True)
class LimitSettings:
    """The documented per-installation and per-plugin limits."""

    installation_rate: float = 10.0
    installation_burst: int = 20
    plugin_rate: float = 50.0
    plugin_burst: int = 100
    installation_concurrency: int = 4
    plugin_concurrency: int = 16

    def __post_init__(self) -> None:
        # Both limits are counted in the same window (one update per call), so they must agree on its length.
        if min(self.installation_rate, self.plugin_rate) <= 0 or min(self.installation_burst, self.plugin_burst) < 1:
            raise ValueError("invocation rates must be positive and bursts at least 1")
        if not math.isclose(self.installation_burst / self.installation_rate, self.plugin_burst / self.plugin_rate):
            raise ValueError(
                "burst / rate must be the same for installations and plugins (the length of the rate window): "
                f"{self.installation_burst}/{self.installation_rate} vs {self.plugin_burst}/{self.plugin_rate}"
            )

    @property
    def window_s(self) -> float:
        """Length of a rate window in seconds."""
        return self.installation_burst / self.installation_rate


class InvocationLimiter:
    """``with limiter.admit(installation_id, plugin_id): ...`` or TooManyRequestsError with retry_after_s."""

    def __init__(
        self, settings: LimitSettings, counters: RateCounters, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self._counters = counters
        self._now = clock  # wall-clock seconds: every process must agree on the window
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    @contextmanager
    def admit(self, installation_id: str, plugin_id: str) -> Iterator[None]:
        """Hold one slot of each limit for the duration of the block."""
        s = self.settings
        slots = (f"i:{installation_id}", f"p:{plugin_id}")
        with self._lock:
            for key, limit, scope in (
                (slots[0], s.installation_concurrency, "installation"),
                (slots[1], s.plugin_concurrency, "plugin"),
            ):
                if self._running.get(key, 0) >= limit:
                    raise TooManyRequestsError(
                        f"This {scope} already runs {limit} invocations at once; retry shortly.",
                        retry_after_s=1,
                        limit=f"{scope}-concurrency",
                    )
            for key in slots:
                self._running[key] = self._running.get(key, 0) + 1
        try:
            self._take_rate(installation_id, plugin_id)
            yield
        finally:
            with self._lock:
                for key in slots:
                    left = self._running.get(key, 1) - 1
                    if left:
                        self._running[key] = left
                    else:
                        self._running.pop(key, None)

    def _take_rate(self, installation_id: str, plugin_id: str) -> None:
        s = self.settings
        now = self._now()
        window = math.floor(now / s.window_s)
        window_end = (window + 1) * s.window_s
        caps = {"plugin": s.plugin_burst, f"installation:{installation_id}": s.installation_burst}
        if not self._counters.take(plugin_id, window, caps, expires_at=math.ceil(window_end) + WINDOW_GRACE_S):
            raise TooManyRequestsError(
                "Too many invocations; retry after the Retry-After delay.",
                retry_after_s=max(1, math.ceil(window_end - now)),
                limit="rate",
            )
