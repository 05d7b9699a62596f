"""What every service leans on: time, ids, pages, secrets, idempotency, shared counters, metrics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

__all__ = [
    "Clock",
    "GenerationStore",
    "IdGenerator",
    "IdempotencyStore",
    "MetricUnit",
    "Metrics",
    "Page",
    "RateCounters",
    "SecretBox",
]


T = TypeVar("T")
Page = tuple[list[T], str | None]


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class SecretBox(Protocol):
    def encrypt(self, plaintext: str, *, context: dict[str, str]) -> str: ...
    def decrypt(self, ciphertext: str, *, context: dict[str, str]) -> str: ...


class IdempotencyStore(Protocol):
    def run(self, key: str, payload: dict[str, Any], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run ``fn`` once per key; replay its result for the same key and payload."""
        ...


class GenerationStore(Protocol):
    """Counters that tell every process its cached copy is stale."""

    def get(self, name: str) -> int: ...
    def bump(self, name: str) -> int: ...


class RateCounters(Protocol):
    """Fixed-window counters shared by every process (services/limits.py)."""

    def take(self, scope: str, window: int, caps: dict[str, int], *, expires_at: int) -> bool:
        """Count one call on every named counter of (scope, window) in one atomic step and answer True, unless
        one of them already reached its cap: then count nothing and answer False. ``expires_at`` (epoch s) lets
        storage forget the window."""
        ...


MetricUnit = Literal["Count", "Milliseconds", "Megabytes"]


class Metrics(Protocol):
    """Application metrics: namespace ``Plugyard``, dimension ``Stage`` only (the alarms depend on it).

    Services ``add``; the entry points ``flush`` once per Lambda invocation (request or batch).
    """

    def add(self, name: str, value: float = 1, unit: MetricUnit = "Count") -> None: ...
    def flush(self) -> None: ...
