"""The ports the services need; adapters fill them in (DynamoDB/S3/KMS or in-memory fakes).

One module per aggregate or concern; every port is re-exported here, so ``from chalicelib.ports import X``
keeps working wherever X lives."""

from __future__ import annotations

from chalicelib.ports.audit import AuditRepository
from chalicelib.ports.events import (
    EventBus,
    HookRunner,
    PluginEventHandler,
    SubscriptionRepository,
    TriggerRepository,
    WorkQueues,
)
from chalicelib.ports.execution import (
    AiProvider,
    CodeCache,
    FunctionDeployer,
    HttpFetcher,
    InvocationRepository,
    PluginDataRepository,
    PluginExecutor,
)
from chalicelib.ports.identities import ApiKeyRepository, WorkspaceRepository
from chalicelib.ports.installations import InstallationRepository, InstallationWriter, PermissionRepository
from chalicelib.ports.live import ListenRepository, LiveConnectionRepository, LiveSender, LiveTicketRepository
from chalicelib.ports.marketplace import (
    ArtifactStore,
    PluginRepository,
    PluginStatsRepository,
    PublisherRepository,
    VersionRepository,
)
from chalicelib.ports.platform import (
    Clock,
    GenerationStore,
    IdempotencyStore,
    IdGenerator,
    Metrics,
    MetricUnit,
    Page,
    RateCounters,
    SecretBox,
)
from chalicelib.ports.tasks import TaskRepository, TaskWriter
from chalicelib.ports.webhooks import DeliveryRepository, WebhookRepository, WebhookSender

__all__ = [
    "AiProvider",
    "ApiKeyRepository",
    "ArtifactStore",
    "AuditRepository",
    "Clock",
    "CodeCache",
    "DeliveryRepository",
    "EventBus",
    "FunctionDeployer",
    "GenerationStore",
    "HookRunner",
    "HttpFetcher",
    "IdGenerator",
    "IdempotencyStore",
    "InstallationRepository",
    "InstallationWriter",
    "InvocationRepository",
    "ListenRepository",
    "LiveConnectionRepository",
    "LiveSender",
    "LiveTicketRepository",
    "MetricUnit",
    "Metrics",
    "Page",
    "PermissionRepository",
    "PluginDataRepository",
    "PluginEventHandler",
    "PluginExecutor",
    "PluginRepository",
    "PluginStatsRepository",
    "PublisherRepository",
    "RateCounters",
    "SecretBox",
    "SubscriptionRepository",
    "TaskRepository",
    "TaskWriter",
    "TriggerRepository",
    "VersionRepository",
    "WebhookRepository",
    "WebhookSender",
    "WorkQueues",
    "WorkspaceRepository",
]
