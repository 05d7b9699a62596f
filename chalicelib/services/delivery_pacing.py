"""What paces and signs a deliverer's attempts: the per-endpoint rate limiter, the cache of decrypted signing keys."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from chalicelib.domain.models import Webhook

__all__ = ["MAX_INLINE_WAIT_S", "RateLimiter", "SigningKeyCache"]


# Rate-limit waits up to this long happen in the worker; longer ones go back on the queue.
MAX_INLINE_WAIT_S = 1.0


class RateLimiter:
    """Per-endpoint GCRA limiter: ``reserve`` books the next slot and says how long to wait for it.

    Per process: each deliverer instance enforces the limit on its own (the local worker is one
    process; on Lambda, cap the event source mapping's concurrency for a strict global limit).
    """

    def __init__(self, burst: int = 1) -> None:
        self._tat: dict[str, float] = {}
        self._burst = burst
        self._lock = threading.Lock()

    def reserve(self, key: str, rate_per_s: float, now_s: float) -> float:
        """Book the next slot for ``key`` at ``rate_per_s``; the seconds to wait for it (0 when it is free now)."""
        interval = 1.0 / rate_per_s
        with self._lock:
            tat = max(self._tat.get(key, now_s), now_s)
            wait = max(0.0, tat - now_s - interval * (self._burst - 1))
            self._tat[key] = tat + interval
            return wait


class SigningKeyCache:
    """Decrypted signing keys by ciphertext (a rotation changes the ciphertext, so it invalidates itself)."""

    def __init__(self, size: int = 1024) -> None:
        self._items: OrderedDict[tuple[str, str, str, datetime | None], tuple[list[str], datetime | None]] = (
            OrderedDict()
        )
        self._size = size
        self._lock = threading.Lock()

    def get(self, hook: Webhook, now: datetime, load: Callable[[], list[str]]) -> list[str]:
        """The endpoint's signing keys (the previous one too while its overlap lasts); ``load`` decrypts on a miss."""
        key = (hook.webhook_id, hook.secret_ciphertext, hook.previous_secret_ciphertext or "", hook.previous_expires_at)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                keys, overlap_until = hit
                return keys if overlap_until is None or now < overlap_until else keys[:1]
        keys = load()
        with self._lock:
            self._items[key] = (keys, hook.previous_expires_at if len(keys) > 1 else None)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return keys
