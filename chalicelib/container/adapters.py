"""The adapters half of the composition root: the table of every port, and its two builders.

``aws_adapters`` fills it with the real adapters (on AWS and on moto), ``in_memory_adapters`` with fakes
(unit tests only); the package's __init__ wires services to either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.adapters import memory
from chalicelib.adapters.ai import EchoAiProvider
from chalicelib.adapters.listen import InMemoryListenRepository
from chalicelib.adapters.live import InMemoryLiveConnectionRepository, InMemoryLiveTicketRepository
from chalicelib.adapters.memory import InMemoryInvocationRepository, InMemoryPluginDataRepository
from chalicelib.adapters.metrics import EmfMetrics, InMemoryMetrics
from chalicelib.adapters.system import SystemClock, UlidGenerator
from chalicelib.config import Settings
from chalicelib.container.events import events_aws_adapters
from chalicelib.container.execution import execution_aws_adapters
from chalicelib.domain.models import EventEnvelope
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
    ListenRepository,
    LiveConnectionRepository,
    LiveSender,
    LiveTicketRepository,
    Metrics,
    PermissionRepository,
    PluginDataRepository,
    PluginEventHandler,
    PluginExecutor,
    PluginRepository,
    PluginStatsRepository,
    PublisherRepository,
    RateCounters,
    SecretBox,
    SubscriptionRepository,
    TaskRepository,
    TaskWriter,
    TriggerRepository,
    VersionRepository,
    WebhookRepository,
    WebhookSender,
    WorkQueues,
    WorkspaceRepository,
)

__all__ = ["Adapters", "aws_adapters", "in_memory_adapters"]


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
    stats: PluginStatsRepository  # publisher analytics: per-version counters
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
    task_writer: TaskWriter  # a task's change with its audit record and events, in one transaction
    subscriptions: SubscriptionRepository
    triggers: TriggerRepository
    hooks: HookRunner | None = None  # None: plugins through the execution engine
    plugin_events: PluginEventHandler | None = None  # None: plugins through the execution engine
    metrics: Metrics  # EMF on AWS (Settings.metrics)
    live: Callable[[EventEnvelope], None] | None = None  # replaces the live fan-out (None: services.live.push)
    live_connections: LiveConnectionRepository
    live_tickets: LiveTicketRepository
    listen: ListenRepository  # listen sessions (plugyard listen) and the events they buffer
    live_sender: LiveSender | None = None  # None: chosen from Settings.live_events_url (unset: no live fan-out)


def in_memory_adapters() -> Adapters:
    """Fakes of every port: unit tests and nothing else."""
    generations = memory.InMemoryGenerationStore()
    plugins = memory.InMemoryPluginRepository(generations)
    installs = memory.InMemoryInstallationRepository()
    permissions = memory.InMemoryPermissionRepository()
    subscriptions = memory.InMemorySubscriptionRepository()
    bus = memory.InMemoryEventBus()
    audit = memory.InMemoryAuditRepository()
    stats = memory.InMemoryPluginStatsRepository()
    tasks = memory.InMemoryTaskRepository()
    return Adapters(
        workspaces=memory.InMemoryWorkspaceRepository(),
        keys=memory.InMemoryApiKeyRepository(),
        plugins=plugins,
        versions=memory.InMemoryVersionRepository(),
        installs=installs,
        permissions=permissions,
        webhooks=memory.InMemoryWebhookRepository(),
        audit=audit,
        artifacts=memory.InMemoryArtifactStore(),
        secrets=memory.InMemorySecretBox(),
        idempotency=memory.InMemoryIdempotencyStore(),
        publishers=memory.InMemoryPublisherRepository(),
        generations=generations,
        invocations=InMemoryInvocationRepository(),
        plugin_data=InMemoryPluginDataRepository(),
        rate_counters=memory.InMemoryRateCounters(),
        deliveries=memory.InMemoryDeliveryRepository(),
        bus=bus,
        install_writer=memory.InMemoryInstallationWriter(
            installs, permissions, plugins, subscriptions, bus, audit, stats, generations
        ),
        stats=stats,
        queues=memory.InMemoryWorkQueues(),
        tasks=tasks,
        task_writer=memory.InMemoryTaskWriter(tasks, audit, bus),
        subscriptions=subscriptions,
        triggers=memory.InMemoryTriggerRepository(),
        metrics=InMemoryMetrics(),
        live_connections=InMemoryLiveConnectionRepository(),
        live_tickets=InMemoryLiveTicketRepository(),
        listen=InMemoryListenRepository(),
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
        stats=dynamo.DynamoPluginStatsRepository(),
        readiness={"dynamodb": tables_ready, "s3": s3.ping, "kms": kms.ping},
        **execution_aws_adapters(settings),
        **events_aws_adapters(settings),
        deliveries=dynamo.DynamoDeliveryRepository(),
        metrics=EmfMetrics(settings.stage) if settings.metrics == "emf" else InMemoryMetrics(),
    )
