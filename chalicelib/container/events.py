"""The events half of the composition root: bus, subscriptions, queues, triggers, tasks and hooks.

The package's __init__ calls ``events_aws_adapters`` (real adapters), ``build_event_core`` (what installs
and webhooks need: events + subscriptions) and ``build_events`` (tasks, triggers, dispatch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.domain.models import EventEnvelope
from chalicelib.ports import HookRunner, PluginEventHandler
from chalicelib.services.audit import AuditService
from chalicelib.services.dispatch import DispatchService
from chalicelib.services.events import EventService
from chalicelib.services.plugin_events import (
    InvocationEventHandler,
    InvocationHookRunner,
    UnwiredHookRunner,
    UnwiredPluginEventHandler,
)
from chalicelib.services.subscriptions import SubscriptionService
from chalicelib.services.tasks import TaskService
from chalicelib.services.triggers import TriggerService

if TYPE_CHECKING:
    from chalicelib.container import Adapters
    from chalicelib.services.installs import InstallService
    from chalicelib.services.invocations import InvocationService

__all__ = ["EventCore", "EventServices", "build_event_core", "build_events", "events_aws_adapters", "queue_names"]

QUEUE_PURPOSES = ("dispatch", "invoke", "delivery", "deploy")


def events_aws_adapters(settings: Settings) -> dict[str, Any]:
    """The outbox (the bus services publish to), SQS and the Tasks/Subscriptions/trigger repositories.

    Services never publish to EventBridge themselves: events go to the outbox table, in the change's own
    transaction where there is one, and its stream forwarder (chalicelib.workers.outbox) publishes them.
    """
    from chalicelib.adapters.aws import aws_client
    from chalicelib.adapters.dynamo import (
        DynamoInstallationWriter,
        DynamoOutbox,
        DynamoSubscriptionRepository,
        DynamoTaskRepository,
        DynamoTaskWriter,
        DynamoTriggerRepository,
        bind_event_tables,
    )
    from chalicelib.adapters.listen import DynamoListenRepository, bind_listen_tables
    from chalicelib.adapters.live import (
        DynamoLiveConnectionRepository,
        DynamoLiveTicketRepository,
        bind_live_tables,
    )
    from chalicelib.adapters.messaging import SqsWorkQueues

    bind_event_tables(settings)
    bind_live_tables(settings)
    bind_listen_tables(settings)
    return {
        "bus": DynamoOutbox(),
        "install_writer": DynamoInstallationWriter(),
        "queues": SqsWorkQueues(aws_client(settings, "sqs"), queue_names(settings)),
        "tasks": DynamoTaskRepository(),
        "task_writer": DynamoTaskWriter(),
        "subscriptions": DynamoSubscriptionRepository(),
        "triggers": DynamoTriggerRepository(),
        "live_connections": DynamoLiveConnectionRepository(),
        "live_tickets": DynamoLiveTicketRepository(),
        "listen": DynamoListenRepository(),
    }


def queue_names(settings: Settings) -> dict[str, str]:
    """Purpose → queue name of every worker queue and its DLQ (``plugyard-<stage>-invoke``, …)."""
    names = {p: settings.queue_name(p) for p in QUEUE_PURPOSES}
    names.update({f"{p}-dlq": settings.queue_name(f"{p}-dlq") for p in QUEUE_PURPOSES})
    return names


@dataclass
class EventCore:
    """Built before installs and webhooks, which report their lifecycle to ``subscriptions``."""

    events: EventService
    subscriptions: SubscriptionService


@dataclass
class EventServices:
    """Built after the execution engine, which plugin events and hooks run on."""

    tasks: TaskService
    triggers: TriggerService
    dispatch: DispatchService


def build_event_core(a: Adapters, audit: AuditService) -> EventCore:
    events = EventService(a.bus, audit, a.clock, a.ids)
    return EventCore(events, SubscriptionService(a.subscriptions, a.versions, a.triggers, events))


def build_events(
    settings: Settings,
    a: Adapters,
    audit: AuditService,
    core: EventCore,
    installs: InstallService,
    invocations: InvocationService | None,
    *,
    live: Callable[[EventEnvelope], object] | None = None,
) -> EventServices:
    """Tasks, triggers and dispatch; plugins are reached through ``invocations`` unless fakes are injected.

    ``live`` is the dispatcher's fan-out to WebSocket clients (``LiveService.push``), None for none.
    """
    installs.on_event.append(core.subscriptions.on_installation_event)
    hooks: HookRunner = a.hooks or (
        InvocationHookRunner(invocations, a.versions) if invocations else UnwiredHookRunner()
    )
    handler: PluginEventHandler = a.plugin_events or (
        InvocationEventHandler(invocations, a.versions) if invocations else UnwiredPluginEventHandler()
    )
    tasks = TaskService(
        a.tasks,
        a.task_writer,
        a.subscriptions,
        a.installs,
        hooks,
        core.events,
        audit,
        a.clock,
        a.ids,
        hook_budget_s=settings.hook_budget_ms / 1000,
    )
    return EventServices(
        tasks=tasks,
        triggers=TriggerService(a.triggers, a.installs, core.events, audit, a.clock),
        dispatch=DispatchService(a.subscriptions, a.installs, a.queues, handler, live=live, audit=audit),
    )
