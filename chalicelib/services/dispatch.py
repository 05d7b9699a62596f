"""Fan-out: one event in, one message per subscriber out (invoke queue for plugins, delivery for webhooks)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from chalicelib.domain.events import parse_trigger_event_type
from chalicelib.domain.messages import DeliveryMessage, InvokeMessage, installation_target, parse_target
from chalicelib.domain.models import EventEnvelope
from chalicelib.ports import InstallationRepository, PluginEventHandler, SubscriptionRepository, WorkQueues

__all__ = ["DispatchResult", "DispatchService"]

log = logging.getLogger(__name__)


class DispatchResult(BaseModel):
    """How many messages one event became."""

    event_id: str
    invoke: int
    delivery: int


class DispatchService:
    """The dispatcher's and the invoker's use cases; the workers only parse and call these."""

    def __init__(
        self,
        subscriptions: SubscriptionRepository,
        installs: InstallationRepository,
        queues: WorkQueues,
        handler: PluginEventHandler,
        live: Callable[[EventEnvelope], object] | None = None,
    ) -> None:
        self._subs = subscriptions
        self._installs = installs
        self._queues = queues
        self._handler = handler
        self._live = live

    def dispatch(self, event: EventEnvelope) -> DispatchResult:
        """Queue the event for every subscriber of its workspace and type (at least once; see docs/events.md)."""
        trigger = parse_trigger_event_type(event.type)
        if trigger is not None:
            # A trigger call is for the installation that exposed it, and for nobody else.
            targets = [installation_target(str(event.data.get("installation_id", "")))]
        else:
            targets = self._subs.targets(event.workspace_id, event.type)
        invoke: list[dict[str, Any]] = []
        delivery: list[dict[str, Any]] = []
        for target in targets:
            parsed = parse_target(target)
            if parsed is None:
                log.warning("unknown subscription target", extra={"target": target, "event_id": event.id})
                continue
            kind, ref = parsed
            if kind == "installation":
                msg = InvokeMessage(workspace_id=event.workspace_id, installation_id=ref, event=event)
                invoke.append(msg.model_dump(mode="json"))
            else:
                hook = DeliveryMessage(workspace_id=event.workspace_id, webhook_id=ref, event=event)
                delivery.append(hook.model_dump(mode="json"))
        if invoke:
            self._queues.send("invoke", invoke)
        if delivery:
            self._queues.send("delivery", delivery)
        if self._live is not None:
            try:
                self._live(event)
            except Exception:  # live fan-out is best effort; queued work must not be redone for it
                log.exception("live fan-out failed", extra={"event_id": event.id})
        return DispatchResult(event_id=event.id, invoke=len(invoke), delivery=len(delivery))

    def invoke(self, message: InvokeMessage) -> str:
        """Hand the event to the installation's handler; returns what happened (``handled``/``skipped:…``)."""
        inst = self._installs.get_by_id(message.workspace_id, message.installation_id)
        if inst is None:
            return "skipped:uninstalled"  # uninstalled since the event was dispatched: nothing to do
        if inst.state != "enabled":
            return f"skipped:{inst.state}"
        trigger = parse_trigger_event_type(message.event.type)
        if trigger is not None and trigger[0] != inst.plugin_id:
            return "skipped:not-this-plugin"
        self._handler.handle(inst, message.event)
        return "handled"
