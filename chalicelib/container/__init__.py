"""The composition root: builds adapters and services once per process from Settings.

Everything that chooses an adapter lives in this package: adapters.py (the table of every port and its
real and in-memory builders), this module (the services wired to them, and the process's one Settings
and Services), events.py (bus, queues, tasks, triggers, dispatch) and execution.py (executor, code
cache, broker, invocations, deployments).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.listen import ListenAwareSender
from chalicelib.config import Settings
from chalicelib.container.adapters import Adapters, aws_adapters, in_memory_adapters
from chalicelib.container.events import build_event_core, build_events
from chalicelib.container.execution import build_execution
from chalicelib.domain.iam import plugin_data_partition
from chalicelib.domain.manifest import PlatformCaps
from chalicelib.domain.models import Installation, PluginVersion
from chalicelib.domain.netguard import Resolver
from chalicelib.ports import LiveSender, WebhookSender
from chalicelib.services.audit import AuditService
from chalicelib.services.auth import AuthService
from chalicelib.services.broker import BrokerService
from chalicelib.services.catalog_cache import MarketplaceCache
from chalicelib.services.deliveries import DeliveryService
from chalicelib.services.deployments import DeploymentService
from chalicelib.services.dev_installs import DevInstallService
from chalicelib.services.dispatch import DispatchService
from chalicelib.services.events import EventService
from chalicelib.services.installs import InstallService
from chalicelib.services.invocations import InvocationService
from chalicelib.services.listen import ListenService
from chalicelib.services.live import LiveService
from chalicelib.services.marketplace import MarketplaceService
from chalicelib.services.publishers import PublisherService
from chalicelib.services.review import ReviewService
from chalicelib.services.stats import StatsService
from chalicelib.services.subscriptions import SubscriptionService
from chalicelib.services.task_actions import TaskActionService
from chalicelib.services.tasks import TaskService
from chalicelib.services.triggers import TriggerService
from chalicelib.services.webhooks import WebhookService

__all__ = [
    "Adapters",
    "Services",
    "aws_adapters",
    "build_services",
    "in_memory_adapters",
    "reset_services",
    "services",
    "settings",
]


@dataclass
class Services:
    """The use cases the routes and workers call."""

    settings: Settings
    adapters: Adapters
    audit: AuditService
    auth: AuthService
    publishers: PublisherService
    marketplace: MarketplaceService
    review: ReviewService
    stats: StatsService
    installs: InstallService
    broker: BrokerService
    invocations: InvocationService
    webhooks: WebhookService
    deliveries: DeliveryService
    events: EventService
    subscriptions: SubscriptionService
    tasks: TaskService
    task_actions: TaskActionService
    triggers: TriggerService
    dispatch: DispatchService
    live: LiveService
    deployments: DeploymentService
    dev_installs: DevInstallService
    listen: ListenService


def build_services(settings: Settings, adapters: Adapters) -> Services:
    """Wire services to adapters."""
    a = adapters
    audit = AuditService(a.audit, a.clock, a.ids, a.secrets)
    publishers = PublisherService(a.publishers, a.workspaces, audit, a.clock)
    marketplace = MarketplaceService(
        a.plugins,
        a.versions,
        a.artifacts,
        publishers,
        MarketplaceCache(a.plugins, a.generations, a.clock, ttl_s=settings.catalog_cache_ttl_s, metrics=a.metrics),
        audit,
        a.clock,
        a.ids,
        caps=PlatformCaps(max_memory_mb=settings.max_memory_mb, max_timeout_s=settings.max_timeout_s),
        host_version=settings.host_version,
        max_artifact_bytes=settings.max_artifact_bytes,
        upload_ttl_s=settings.upload_url_ttl_s,
    )
    event_core = build_event_core(a, audit)
    installs = InstallService(
        marketplace,
        a.plugins,
        a.installs,
        a.permissions,
        a.idempotency,
        a.secrets,
        audit,
        a.clock,
        a.ids,
        a.install_writer,
        event_core.events,
        metrics=a.metrics,
    )

    publishers.on_changed.append(marketplace.cache.invalidate)

    def on_reviewed(version: PluginVersion) -> None:
        if version.state == "yanked":
            installs.disable_yanked(version)

    marketplace.on_reviewed.append(on_reviewed)

    def on_installation_event(event_type: str, inst: Installation, detail: dict[str, Any]) -> None:
        if event_type == "plugin.uninstalled":
            # Uninstall forgets the plugin's data (its tokens die with the installation record); its analytics
            # counter moved in the uninstall's transaction.
            a.plugin_data.delete_partition(plugin_data_partition(inst.plugin_id, inst.installation_id))

    installs.on_event.append(on_installation_event)
    webhooks = WebhookService(
        a.webhooks,
        a.secrets,
        audit,
        a.clock,
        a.ids,
        allow_private=settings.webhooks_allow_private,
        resolve=a.resolver,
        lifecycle=event_core.subscriptions,
    )
    broker, invocations, deployments = build_execution(settings, a, audit, marketplace)
    installs.on_event.append(deployments.on_installation_event)
    auth = AuthService(a.workspaces, a.keys, a.publishers, audit, a.clock, a.ids, cache_ttl_s=settings.auth_cache_ttl_s)
    live = LiveService(
        a.live_connections,
        # Listen sessions (plugyard listen) ride the same fan-out: their connections buffer, sockets get pushed.
        ListenAwareSender(a.listen, a.live_sender or _live_sender(settings), a.clock),
        auth,
        audit,
        a.clock,
        tickets=a.live_tickets,
        public_url=settings.live_public_url,
        connection_ttl_s=settings.live_connection_ttl_s,
        max_per_workspace=settings.live_max_connections_per_workspace,
    )
    event_services = build_events(
        settings, a, audit, event_core, installs, invocations, live=a.live or (live.push if live.enabled else None)
    )
    dev_installs = DevInstallService(
        enabled=settings.dev_installations,
        plugins=a.plugins,
        versions=a.versions,
        artifacts=a.artifacts,
        installs=a.installs,
        permissions=a.permissions,
        subscriptions=a.subscriptions,
        writer=a.install_writer,
        deployer=deployments.deployer,
        events=event_core.events,
        audit=audit,
        clock=a.clock,
        ids=a.ids,
        caps=PlatformCaps(max_memory_mb=settings.max_memory_mb, max_timeout_s=settings.max_timeout_s),
    )

    def forget_development(event_type: str, inst: Installation, detail: dict[str, Any]) -> None:
        # Last of the uninstall hooks: the others (subscriptions) still read the version record.
        if event_type == "plugin.uninstalled":
            dev_installs.forget(inst)

    installs.on_event.append(forget_development)
    dev_installs.on_uploaded.append(invocations.prewarm)
    return Services(
        settings=settings,
        deployments=deployments,
        dev_installs=dev_installs,
        listen=ListenService(a.listen, a.live_connections, a.secrets, audit, a.clock, a.ids),
        broker=broker,
        invocations=invocations,
        adapters=a,
        audit=audit,
        auth=auth,
        publishers=publishers,
        marketplace=marketplace,
        review=ReviewService(
            a.plugins, a.versions, a.artifacts, publishers, audit, max_artifact_bytes=settings.max_artifact_bytes
        ),
        stats=StatsService(a.plugins, a.versions, a.stats, audit),
        installs=installs,
        webhooks=webhooks,
        deliveries=DeliveryService(
            webhooks,
            a.webhooks,
            a.deliveries,
            a.queues,
            a.webhook_sender or _webhook_sender(settings, a.resolver),
            audit,
            a.clock,
            a.ids,
            bus=a.bus,
            metrics=a.metrics,
        ),
        events=event_core.events,
        subscriptions=event_core.subscriptions,
        tasks=event_services.tasks,
        task_actions=TaskActionService(a.tasks, a.installs, a.versions, invocations, audit),
        triggers=event_services.triggers,
        dispatch=event_services.dispatch,
        live=live,
    )


def _live_sender(settings: Settings) -> LiveSender | None:
    from chalicelib.adapters.live import live_sender

    return live_sender(settings)


def _webhook_sender(settings: Settings, resolve: Resolver) -> WebhookSender:
    from chalicelib.adapters.webhook_http import HttpxWebhookSender

    return HttpxWebhookSender(allow_private=settings.webhooks_allow_private, resolve=resolve)


_lock = threading.Lock()
_settings: Settings | None = None
_services: Services | None = None


def settings() -> Settings:
    """The process's Settings, read from the environment once (app.py and the services share it)."""
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                _settings = Settings()
    return _settings


def services() -> Services:
    """The process's services, built on first use (never at import time) from ``settings()``."""
    global _services
    if _services is None:
        current = settings()
        with _lock:
            if _services is None:
                _services = build_services(current, aws_adapters(current))
    return _services


def reset_services(value: Services | None = None) -> None:
    """Replace the process's services (tests) or drop them (and the Settings) so the next call rebuilds."""
    global _services, _settings
    _services = value
    if value is None:
        _settings = None
