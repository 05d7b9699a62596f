"""The composition root: builds adapters and services once per process from Settings.

Everything that chooses an adapter lives in this package: this module (the adapters, the services,
the process's one Settings and Services), events.py (bus, queues, tasks, triggers, dispatch) and
execution.py (executor, code cache, broker, invocations, deployments).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters import memory
from chalicelib.adapters.ai import EchoAiProvider
from chalicelib.adapters.live import InMemoryLiveConnectionRepository
from chalicelib.adapters.memory import InMemoryInvocationRepository, InMemoryPluginDataRepository
from chalicelib.adapters.metrics import EmfMetrics, InMemoryMetrics
from chalicelib.adapters.system import SystemClock, UlidGenerator
from chalicelib.config import Settings
from chalicelib.container.events import build_event_core, build_events, events_aws_adapters
from chalicelib.container.execution import build_execution, execution_aws_adapters
from chalicelib.domain.iam import plugin_data_partition
from chalicelib.domain.manifest import PlatformCaps
from chalicelib.domain.models import EventEnvelope, Installation, PluginVersion
from chalicelib.domain.netguard import Resolver, system_resolver
from chalicelib.ports import (
    AiProvider,
    ApiKeyRepository,
    ArtifactStore,
    AuditRepository,
    Clock,
    CodeCache,
    DeliveryRepository,
    EventBus,
    GenerationStore,
    HookRunner,
    HttpFetcher,
    IdempotencyStore,
    IdGenerator,
    InstallationRepository,
    InstallationWriter,
    InvocationRepository,
    LiveConnectionRepository,
    LiveSender,
    Metrics,
    PermissionRepository,
    PluginDataRepository,
    PluginEventHandler,
    PluginExecutor,
    PluginRepository,
    PublisherRepository,
    RateCounters,
    SecretBox,
    SubscriptionRepository,
    TaskRepository,
    TriggerRepository,
    VersionRepository,
    WebhookRepository,
    WebhookSender,
    WorkQueues,
    WorkspaceRepository,
)
from chalicelib.services.audit import AuditService
from chalicelib.services.auth import AuthService
from chalicelib.services.broker import BrokerService
from chalicelib.services.catalog_cache import MarketplaceCache
from chalicelib.services.deliveries import DeliveryService
from chalicelib.services.deployments import DeploymentService
from chalicelib.services.dispatch import DispatchService
from chalicelib.services.events import EventService
from chalicelib.services.installs import InstallService
from chalicelib.services.invocations import InvocationService
from chalicelib.services.live import LiveService
from chalicelib.services.marketplace import MarketplaceService
from chalicelib.services.publishers import PublisherService
from chalicelib.services.subscriptions import SubscriptionService
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


@dataclass(kw_only=True)
class Adapters:
    """Every port, filled in by exactly one of two builders: ``aws_adapters`` (the real ones, on AWS and on
    moto) or ``in_memory_adapters`` (fakes, unit tests only). No port defaults to a fake, so a production
    wiring that forgets one fails to build instead of silently keeping data in one process's memory.
    ``None`` on the optional ports means "the real one, chosen from Settings" (never a fake).
    """

    workspaces: WorkspaceRepository
    keys: ApiKeyRepository
    plugins: PluginRepository
    versions: VersionRepository
    installs: InstallationRepository
    permissions: PermissionRepository
    webhooks: WebhookRepository
    audit: AuditRepository
    artifacts: ArtifactStore
    secrets: SecretBox
    idempotency: IdempotencyStore
    publishers: PublisherRepository
    generations: GenerationStore
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=UlidGenerator)
    resolver: Resolver = system_resolver
    readiness: dict[str, Callable[[], None]] = field(default_factory=dict)
    # Plugin execution; None = chosen from Settings by container/execution.py (build_execution).
    invocations: InvocationRepository
    plugin_data: PluginDataRepository
    rate_counters: RateCounters
    executor: PluginExecutor | None = None
    code: CodeCache | None = None
    http: HttpFetcher | None = None
    ai: AiProvider | None = None
    # Webhook deliveries.
    deliveries: DeliveryRepository
    webhook_sender: WebhookSender | None = None  # None: the httpx sender, built from Settings
    # Events.
    bus: EventBus  # the outbox on AWS: events travel with the change they announce
    install_writer: InstallationWriter  # an installation and all that comes with it, in one transaction
    queues: WorkQueues  # every worker queue (dispatch, invoke, delivery, deploy) and its DLQ
    tasks: TaskRepository
    subscriptions: SubscriptionRepository
    triggers: TriggerRepository
    hooks: HookRunner | None = None  # None: plugins through the execution engine
    plugin_events: PluginEventHandler | None = None  # None: plugins through the execution engine
    metrics: Metrics  # EMF on AWS (Settings.metrics)
    live: Callable[[EventEnvelope], None] | None = None  # replaces the live fan-out (None: services.live.push)
    live_connections: LiveConnectionRepository
    live_sender: LiveSender | None = None  # None: chosen from Settings.live_events_url (unset: no live fan-out)


@dataclass
class Services:
    """The use cases the routes and workers call."""

    settings: Settings
    adapters: Adapters
    audit: AuditService
    auth: AuthService
    publishers: PublisherService
    marketplace: MarketplaceService
    installs: InstallService
    broker: BrokerService
    invocations: InvocationService
    webhooks: WebhookService
    deliveries: DeliveryService
    events: EventService
    subscriptions: SubscriptionService
    tasks: TaskService
    triggers: TriggerService
    dispatch: DispatchService
    live: LiveService
    deployments: DeploymentService


def in_memory_adapters() -> Adapters:
    """Fakes of every port: unit tests and nothing else."""
    plugins = memory.InMemoryPluginRepository()
    installs = memory.InMemoryInstallationRepository()
    permissions = memory.InMemoryPermissionRepository()
    subscriptions = memory.InMemorySubscriptionRepository()
    bus = memory.InMemoryEventBus()
    return Adapters(
        workspaces=memory.InMemoryWorkspaceRepository(),
        keys=memory.InMemoryApiKeyRepository(),
        plugins=plugins,
        versions=memory.InMemoryVersionRepository(),
        installs=installs,
        permissions=permissions,
        webhooks=memory.InMemoryWebhookRepository(),
        audit=memory.InMemoryAuditRepository(),
        artifacts=memory.InMemoryArtifactStore(),
        secrets=memory.InMemorySecretBox(),
        idempotency=memory.InMemoryIdempotencyStore(),
        publishers=memory.InMemoryPublisherRepository(),
        generations=memory.InMemoryGenerationStore(),
        invocations=InMemoryInvocationRepository(),
        plugin_data=InMemoryPluginDataRepository(),
        rate_counters=memory.InMemoryRateCounters(),
        deliveries=memory.InMemoryDeliveryRepository(),
        bus=bus,
        install_writer=memory.InMemoryInstallationWriter(installs, permissions, plugins, subscriptions, bus),
        queues=memory.InMemoryWorkQueues(),
        tasks=memory.InMemoryTaskRepository(),
        subscriptions=subscriptions,
        triggers=memory.InMemoryTriggerRepository(),
        metrics=InMemoryMetrics(),
        live_connections=InMemoryLiveConnectionRepository(),
        ai=EchoAiProvider(),
    )


def aws_adapters(settings: Settings) -> Adapters:
    """The real adapters: PynamoDB, S3, KMS and powertools idempotency (moto locally)."""
    from chalicelib.adapters import dynamo
    from chalicelib.adapters.aws import KmsSecretBox, PowertoolsIdempotencyStore, S3ArtifactStore, aws_client

    dynamo.bind_tables(settings)
    s3 = S3ArtifactStore(aws_client(settings, "s3"), settings.bucket)
    kms = KmsSecretBox(aws_client(settings, "kms"), settings.secrets_key)
    ddb = aws_client(settings, "dynamodb")

    def tables_ready() -> None:
        for purpose in ("plugins", "installations", "webhooks", "audit-log", "api-keys", "idempotency"):
            ddb.describe_table(TableName=settings.table_name(purpose))

    return Adapters(
        workspaces=dynamo.DynamoWorkspaceRepository(),
        keys=dynamo.DynamoApiKeyRepository(),
        plugins=dynamo.DynamoPluginRepository(),
        versions=dynamo.DynamoVersionRepository(),
        installs=dynamo.DynamoInstallationRepository(),
        permissions=dynamo.DynamoPermissionRepository(),
        webhooks=dynamo.DynamoWebhookRepository(),
        audit=dynamo.DynamoAuditRepository(),
        artifacts=s3,
        secrets=kms,
        idempotency=PowertoolsIdempotencyStore(
            ddb, settings.table_name("idempotency"), ttl_s=settings.idempotency_ttl_s
        ),
        publishers=dynamo.DynamoPublisherRepository(),
        generations=dynamo.DynamoGenerationStore(),
        readiness={"dynamodb": tables_ready, "s3": s3.ping, "kms": kms.ping},
        **execution_aws_adapters(settings),
        **events_aws_adapters(settings),
        deliveries=dynamo.DynamoDeliveryRepository(),
        metrics=EmfMetrics(settings.stage) if settings.metrics == "emf" else InMemoryMetrics(),
    )


def build_services(settings: Settings, adapters: Adapters) -> Services:
    """Wire services to adapters."""
    a = adapters
    audit = AuditService(a.audit, a.clock, a.ids, a.secrets)
    publishers = PublisherService(a.publishers, audit, a.clock)
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
            # Uninstall forgets the plugin's data (its tokens die with the installation record).
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
    auth = AuthService(a.workspaces, a.keys, audit, a.clock, a.ids, cache_ttl_s=settings.auth_cache_ttl_s)
    live = LiveService(
        a.live_connections,
        a.live_sender or _live_sender(settings),
        auth,
        audit,
        a.clock,
        connection_ttl_s=settings.live_connection_ttl_s,
        max_per_workspace=settings.live_max_connections_per_workspace,
    )
    event_services = build_events(
        settings, a, audit, event_core, installs, invocations, live=a.live or (live.push if live.enabled else None)
    )
    return Services(
        settings=settings,
        deployments=deployments,
        broker=broker,
        invocations=invocations,
        adapters=a,
        audit=audit,
        auth=auth,
        publishers=publishers,
        marketplace=marketplace,
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
