"""Fan-out: one event in, one message per subscriber out (invoke queue for plugins, delivery for webhooks)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import BaseModel

from chalicelib.domain.deliveries import DeliveryJob
from chalicelib.domain.deployments import VersionNotReadyError
from chalicelib.domain.events import parse_trigger_event_type
from chalicelib.domain.iam import plugin_event_source
from chalicelib.domain.messages import (
    InvokeMessage,
    PoisonMessageError,
    installation_target,
    parse_target,
)
from chalicelib.domain.models import EventEnvelope
from chalicelib.ports import InstallationRepository, PluginEventHandler, SubscriptionRepository, WorkQueues
from chalicelib.services.audit import AuditService

__all__ = ["DispatchResult", "DispatchService"]

log = logging.getLogger(__name__)

_PLUGIN_SOURCE = "plugyard.plugin."
# An invoke message of a version still deploying comes back this much later, as a new message (so its
# receive count, which would send it to the DLQ, starts again); deployments end ready or failed.
REQUEUE_DELAY_S = 30


class DispatchResult(BaseModel):
    """How many messages one event became."""

    event_id: str
    invoke: int
    delivery: int
    dropped: str | None = None


class DispatchService:
    """The dispatcher's and the invoker's use cases; the workers only parse and call these."""

    def __init__(
        self,
        subscriptions: SubscriptionRepository,
        installs: InstallationRepository,
        queues: WorkQueues,
        handler: PluginEventHandler,
        live: Callable[[EventEnvelope], object] | None = None,
        audit: AuditService | None = None,
    ) -> None:
        self._audit = audit
        self._subs = subscriptions
        self._installs = installs
        self._queues = queues
        self._handler = handler
        self._live = live

    def dispatch(self, event: EventEnvelope) -> DispatchResult:
        """Queue the event for every subscriber of its workspace and type (at least once; see docs/events.md)."""
        forged = self._forged_reason(event)
        if forged is not None:
            self._drop(event, forged)
            return DispatchResult(event_id=event.id, invoke=0, delivery=0, dropped=forged)
        trigger = parse_trigger_event_type(event.type)
        if trigger is not None:
            # A trigger call is for the installation that exposed it, and for nobody else.
            targets = [installation_target(str(event.data.get("installation_id", "")))]
        else:
            targets = self._subs.targets(event.workspace_id, event.type)
        invoke: list[InvokeMessage] = []
        delivery: list[DeliveryJob] = []
        for target in targets:
            parsed = parse_target(target)
            if parsed is None:
                log.warning("unknown subscription target", extra={"target": target, "event_id": event.id})
                continue
            kind, ref = parsed
            if kind == "installation":
                invoke.append(InvokeMessage(workspace_id=event.workspace_id, installation_id=ref, event=event))
            else:
                # A new job: the follow-up fields (delivery_id, attempt, …) are the deliverer's to fill in.
                delivery.append(DeliveryJob(workspace_id=event.workspace_id, webhook_id=ref, event=event))
        if invoke or delivery:
            self._queues.send([*invoke, *delivery])
        if self._live is not None:
            try:
                self._live(event)
            except Exception:  # live fan-out is best effort; queued work must not be redone for it
                log.exception("live fan-out failed", extra={"event_id": event.id})
        return DispatchResult(event_id=event.id, invoke=len(invoke), delivery=len(delivery))

    def _forged_reason(self, event: EventEnvelope) -> str | None:
        """Why a plugin event cannot be genuine, or None: only an enabled installation of the plugin in the
        event's workspace may have sent it (the broker sets both; a direct PutEvents could forge them)."""
        if not event.source.startswith(_PLUGIN_SOURCE):
            return None
        plugin_id = event.source[len(_PLUGIN_SOURCE) :]
        if event.source != plugin_event_source(plugin_id) or not event.type.startswith(f"plugin.{plugin_id}."):
            return "source-type-mismatch"
        inst = self._installs.get(event.workspace_id, plugin_id)
        if inst is None:
            return "not-installed-in-workspace"
        if inst.state != "enabled":
            return f"installation-{inst.state}"
        return None

    def _drop(self, event: EventEnvelope, reason: str) -> None:
        # Visible, not silent: a warning, and a denied record in the audit log of the workspace it claimed.
        log.warning(
            "forged plugin event dropped",
            extra={"event_id": event.id, "source": event.source, "workspace_id": event.workspace_id, "reason": reason},
        )
        if self._audit is not None:
            self._audit.record(
                event.workspace_id,
                event.source[:200],
                "event.dispatch",
                event.id,
                "denied",
                reason=reason,
                event_type=event.type[:200],
            )

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
        try:
            self._handler.handle(inst, message.event)
        except VersionNotReadyError as exc:
            if exc.extensions.get("deployment") == "failed":
                # Never run elsewhere: the event waits in the DLQ, to be redriven once a fixed version is out.
                raise PoisonMessageError(exc.detail, code="version-not-deployed") from exc
            self._queues.send([message], delay_s=REQUEUE_DELAY_S)
            return "requeued:deploying"
        return "handled"
