"""Event plumbing: the bus, work queues, hooks and plugin event handlers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.domain.messages import QueueMessage
from chalicelib.domain.models import (
    EventEnvelope,
    Installation,
)

__all__ = ["InMemoryEventBus", "InMemoryHookRunner", "InMemoryPluginEventHandler", "InMemoryWorkQueues"]


class InMemoryEventBus:
    """Keeps what was published; ``listeners`` (e.g. a dispatcher in tests) see each event as it goes out."""

    def __init__(self) -> None:
        self.published: list[EventEnvelope] = []
        self.listeners: list[Callable[[EventEnvelope], None]] = []

    def publish(self, events: list[EventEnvelope]) -> None:
        for event in events:
            self.published.append(event)
            for listener in self.listeners:
                listener(event)


class InMemoryWorkQueues:
    """Message bodies by queue purpose, as the SQS adapter would send them (parsed); dead letters keep their reason."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.dead: dict[str, list[dict[str, str]]] = {}
        self.delays: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def send(self, messages: Sequence[QueueMessage], *, delay_s: int = 0) -> None:
        with self._lock:
            for message in messages:
                self.sent.setdefault(message.queue, []).append(json.loads(message.body()))
                self.delays.setdefault(message.queue, []).append(delay_s)

    def take(self, purpose: str) -> list[tuple[dict[str, Any], int]]:
        """Every body queued for ``purpose`` with its delay, in order, removed from the queue (tests pump them)."""
        with self._lock:
            bodies, delays = self.sent.pop(purpose, []), self.delays.pop(purpose, [])
        return list(zip(bodies, delays, strict=True))

    def dead_letter(self, purpose: str, body: str, *, code: str, reason: str) -> None:
        with self._lock:
            self.dead.setdefault(purpose, []).append({"body": body, "code": code, "reason": reason})


class InMemoryHookRunner:
    """Answers hook calls from ``replies`` (installation id → function of the event); no reply = None."""

    def __init__(self) -> None:
        self.replies: dict[str, Callable[[EventEnvelope], dict[str, Any] | None]] = {}
        self.calls: list[tuple[str, EventEnvelope]] = []

    def call(self, installation: Installation, event: EventEnvelope, *, timeout_s: float) -> dict[str, Any] | None:
        self.calls.append((installation.installation_id, event))
        reply = self.replies.get(installation.installation_id)
        return reply(event) if reply else None


class InMemoryPluginEventHandler:
    """Records the events handed to installations; ``fail`` makes an installation's handler raise."""

    def __init__(self) -> None:
        self.handled: list[tuple[str, EventEnvelope]] = []
        self.fail: set[str] = set()

    def handle(self, installation: Installation, event: EventEnvelope) -> None:
        if installation.installation_id in self.fail:
            raise RuntimeError(f"handler of {installation.installation_id} failed")
        self.handled.append((installation.installation_id, event))
