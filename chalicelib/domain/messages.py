"""What travels on the worker queues: one message model, the dispatch body, and subscription targets.

Every message a service sends is a ``QueueMessage``: its class names the queue it goes to, ``body()`` is
its one wire form and ``from_body()`` reads it back (PoisonMessageError when it cannot). The models:

dispatch queue   no model: EventBridge's event JSON whose ``detail`` is an EventEnvelope (or a bare
                 envelope, which is what a redriven or hand-sent message may be)
invoke queue     ``InvokeMessage``: ``{"kind": "plugin", "workspace_id", "installation_id", "event"}``
delivery queue   ``chalicelib.domain.deliveries.DeliveryJob``: the dispatcher sends ``{"kind": "webhook",
                 "workspace_id", "webhook_id", "event"}``, the deliverer's follow-ups add ``delivery_id``
                 and ``attempt``
deploy queue     ``chalicelib.domain.deployments.DeployMessage``
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ValidationError

from chalicelib.domain.errors import PoisonMessageError
from chalicelib.domain.models import EventEnvelope

__all__ = [
    "InvokeMessage",
    "PoisonMessageError",
    "QueueMessage",
    "Target",
    "installation_target",
    "parse_dispatch_body",
    "parse_target",
    "webhook_target",
]


class QueueMessage(BaseModel):
    """A message for one of the worker queues; subclasses name the queue (its purpose) in ``queue``."""

    queue: ClassVar[str]

    def body(self) -> str:
        """The message as SQS carries it: JSON without the fields that are None (the reader restores them)."""
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_body(cls, body: str) -> Self:
        """The message in a queue record's body; PoisonMessageError when it is not one (no retry can fix it)."""
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise PoisonMessageError(f"{cls.queue} message unreadable: {exc.error_count()} validation errors") from exc


class InvokeMessage(QueueMessage):
    """Run one installation's event handler for one event."""

    queue: ClassVar[str] = "invoke"
    kind: Literal["plugin"] = "plugin"
    workspace_id: str
    installation_id: str
    event: EventEnvelope


Target = tuple[Literal["installation", "webhook"], str]


def installation_target(installation_id: str) -> str:
    """The Subscriptions ``target`` of an installation."""
    return f"installation#{installation_id}"


def webhook_target(webhook_id: str) -> str:
    """The Subscriptions ``target`` of a webhook."""
    return f"webhook#{webhook_id}"


def parse_target(target: str) -> Target | None:
    """``("installation", id)`` or ``("webhook", id)``; None for anything else."""
    kind, _, ref = target.partition("#")
    if ref and kind == "installation":
        return "installation", ref
    if ref and kind == "webhook":
        return "webhook", ref
    return None


def parse_dispatch_body(body: str) -> EventEnvelope:
    """The envelope in a dispatch-queue message; PoisonMessageError when there is none."""
    try:
        raw: Any = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise PoisonMessageError(f"body is not JSON: {exc}") from exc
    if isinstance(raw, dict) and "detail" in raw and "detail-type" in raw:
        raw = raw["detail"]  # EventBridge wraps what put_events sent in ``detail``
    try:
        return EventEnvelope.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise PoisonMessageError(f"not an event envelope: {problems}") from exc
