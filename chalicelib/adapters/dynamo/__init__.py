"""PynamoDB repositories, one module per aggregate, one table per aggregate (the meta table shared).

Each repository keeps its domain object as JSON (``doc``) beside the keys and the attributes it queries on;
``base`` holds what they share. The composition root binds the models to their tables once per process:
``bind_tables`` (the core), ``bind_event_tables`` (tasks, subscriptions) and ``bind_execution_tables``
(invocations, plugin data), so each group can be bound on its own.
"""

from __future__ import annotations

from pynamodb.models import Model

from chalicelib.adapters.dynamo.audit import AuditItem, DynamoAuditRepository
from chalicelib.adapters.dynamo.base import MetaItem, bind_models
from chalicelib.adapters.dynamo.generations import DynamoGenerationStore
from chalicelib.adapters.dynamo.installs import (
    DynamoInstallationRepository,
    DynamoPermissionRepository,
    InstallationItem,
    PermissionItem,
)
from chalicelib.adapters.dynamo.invocations import DynamoInvocationRepository, InvocationItem
from chalicelib.adapters.dynamo.limits import DynamoRateCounters
from chalicelib.adapters.dynamo.outbox import DynamoInstallationWriter, DynamoOutbox, DynamoTaskWriter, OutboxItem
from chalicelib.adapters.dynamo.plugin_data import DynamoPluginDataRepository, PluginDataItem
from chalicelib.adapters.dynamo.plugins import (
    DynamoPluginRepository,
    DynamoPublisherRepository,
    DynamoVersionRepository,
    PluginItem,
    VersionItem,
)
from chalicelib.adapters.dynamo.stats import DynamoPluginStatsRepository
from chalicelib.adapters.dynamo.subscriptions import DynamoSubscriptionRepository, SubscriptionItem
from chalicelib.adapters.dynamo.tasks import DynamoTaskRepository, TaskItem
from chalicelib.adapters.dynamo.triggers import DynamoTriggerRepository
from chalicelib.adapters.dynamo.webhooks import (
    DeliveryItem,
    DynamoDeliveryRepository,
    DynamoWebhookRepository,
    WebhookItem,
)
from chalicelib.adapters.dynamo.workspaces import (
    ApiKeyItem,
    DynamoApiKeyRepository,
    DynamoWorkspaceRepository,
    WorkspaceItem,
)
from chalicelib.config import Settings

__all__ = [
    "DynamoApiKeyRepository",
    "DynamoAuditRepository",
    "DynamoDeliveryRepository",
    "DynamoGenerationStore",
    "DynamoInstallationRepository",
    "DynamoInstallationWriter",
    "DynamoInvocationRepository",
    "DynamoOutbox",
    "DynamoPermissionRepository",
    "DynamoPluginDataRepository",
    "DynamoPluginRepository",
    "DynamoPluginStatsRepository",
    "DynamoPublisherRepository",
    "DynamoRateCounters",
    "DynamoSubscriptionRepository",
    "DynamoTaskRepository",
    "DynamoTaskWriter",
    "DynamoTriggerRepository",
    "DynamoVersionRepository",
    "DynamoWebhookRepository",
    "DynamoWorkspaceRepository",
    "PluginItem",
    "bind_event_tables",
    "bind_execution_tables",
    "bind_tables",
]

ALL_MODELS: tuple[type[Model], ...] = (
    MetaItem,
    WorkspaceItem,
    ApiKeyItem,
    PluginItem,
    VersionItem,
    InstallationItem,
    PermissionItem,
    WebhookItem,
    AuditItem,
    DeliveryItem,
)
EVENT_MODELS: tuple[type[Model], ...] = (TaskItem, SubscriptionItem, OutboxItem)
EXECUTION_MODELS: tuple[type[Model], ...] = (InvocationItem, PluginDataItem)


def bind_tables(settings: Settings, table_names: dict[str, str] | None = None) -> None:
    """Point every core model at its table (``plugyard-<stage>-<purpose>``) and endpoint."""
    bind_models(ALL_MODELS, settings, table_names)


def bind_event_tables(settings: Settings) -> None:
    """Point the events models (tasks, subscriptions, outbox) at ``plugyard-<stage>-<purpose>`` tables."""
    bind_models(EVENT_MODELS, settings)


def bind_execution_tables(settings: Settings) -> None:
    """Point the execution models at ``plugyard-<stage>-<purpose>`` on the configured endpoint."""
    bind_models(EXECUTION_MODELS, settings)
