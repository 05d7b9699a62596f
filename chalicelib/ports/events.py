"""Events: the bus, who subscribes, the worker queues, inbound triggers and hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from chalicelib.domain.messages import QueueMessage
from chalicelib.domain.models import EventEnvelope, Installation
from chalicelib.domain.triggers import Trigger

__all__ = ["EventBus", "HookRunner", "PluginEventHandler", "SubscriptionRepository", "TriggerRepository", "WorkQueues"]


class EventBus(Protocol):
    """Publishes envelopes (EventBridge on AWS and on moto; an in-memory list in unit tests)."""

    def publish(self, events: list[EventEnvelope]) -> None: ...


class SubscriptionRepository(Protocol):
    """Who receives which event type in a workspace: one row per (``workspace_id#event_type``, target)."""

    def add(self, workspace_id: str, event_types: list[str], target: str) -> None: ...
    def remove(self, workspace_id: str, event_types: list[str], target: str) -> None: ...
    def targets(self, workspace_id: str, event_type: str) -> list[str]:
        """Every target subscribed to the type (one Query on AWS)."""
        ...


class WorkQueues(Protocol):
    """The worker queues by purpose (``dispatch``, ``invoke``, ``delivery``, ``deploy``) and their DLQs."""

    def send(self, messages: Sequence[QueueMessage], *, delay_s: int = 0) -> None:
        """Put each message on its queue (``message.queue``), delayed by ``delay_s`` (at most 900 s)."""
        ...

    def dead_letter(self, purpose: str, body: str, *, code: str, reason: str) -> None:
        """Put a message on the purpose's DLQ with why it is there (message attributes)."""
        ...


class TriggerRepository(Protocol):
    """Inbound triggers of installations, keyed by (installation_id, name)."""

    def get(self, installation_id: str, name: str) -> Trigger | None: ...
    def put(self, trigger: Trigger) -> None: ...
    def list(self, installation_id: str) -> list[Trigger]: ...
    def delete_all(self, installation_id: str) -> None: ...


class HookRunner(Protocol):
    """Calls one installation's handler for a synchronous hook and returns what it answered.

    May raise, or take longer than ``timeout_s``; the caller enforces the budget either way.
    """

    def call(self, installation: Installation, event: EventEnvelope, *, timeout_s: float) -> dict[str, Any] | None: ...


class PluginEventHandler(Protocol):
    """Runs an installation's event handler for one event taken from the invoke queue.

    Raises to have the message retried (and dead-lettered after the queue's maxReceiveCount).
    """

    def handle(self, installation: Installation, event: EventEnvelope) -> None: ...
