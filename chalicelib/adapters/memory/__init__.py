"""In-memory twins of every port, one module per aggregate like ``adapters/dynamo``, for unit tests.

The contract suites (tests/integration/test_contract_*.py) run the same cases against these and the DynamoDB
adapters on moto, so the twins cannot drift.
"""

from __future__ import annotations

from chalicelib.adapters.memory.audit import InMemoryAuditRepository
from chalicelib.adapters.memory.events import (
    InMemoryEventBus,
    InMemoryHookRunner,
    InMemoryPluginEventHandler,
    InMemoryWorkQueues,
)
from chalicelib.adapters.memory.installs import InMemoryInstallationRepository, InMemoryPermissionRepository
from chalicelib.adapters.memory.invocations import InMemoryInvocationRepository
from chalicelib.adapters.memory.limits import InMemoryRateCounters
from chalicelib.adapters.memory.outbox import InMemoryInstallationWriter, InMemoryTaskWriter
from chalicelib.adapters.memory.platform import (
    InMemoryArtifactStore,
    InMemoryGenerationStore,
    InMemoryIdempotencyStore,
    InMemorySecretBox,
)
from chalicelib.adapters.memory.plugin_data import InMemoryPluginDataRepository
from chalicelib.adapters.memory.plugins import (
    InMemoryPluginRepository,
    InMemoryPublisherRepository,
    InMemoryVersionRepository,
)
from chalicelib.adapters.memory.stats import InMemoryPluginStatsRepository
from chalicelib.adapters.memory.subscriptions import InMemorySubscriptionRepository
from chalicelib.adapters.memory.tasks import InMemoryTaskRepository
from chalicelib.adapters.memory.triggers import InMemoryTriggerRepository
from chalicelib.adapters.memory.webhooks import (
    InMemoryDeliveryRepository,
    InMemoryWebhookRepository,
)
from chalicelib.adapters.memory.workspaces import InMemoryApiKeyRepository, InMemoryWorkspaceRepository

__all__ = [
    "InMemoryApiKeyRepository",
    "InMemoryArtifactStore",
    "InMemoryAuditRepository",
    "InMemoryDeliveryRepository",
    "InMemoryEventBus",
    "InMemoryGenerationStore",
    "InMemoryHookRunner",
    "InMemoryIdempotencyStore",
    "InMemoryInstallationRepository",
    "InMemoryInstallationWriter",
    "InMemoryInvocationRepository",
    "InMemoryPermissionRepository",
    "InMemoryPluginDataRepository",
    "InMemoryPluginEventHandler",
    "InMemoryPluginRepository",
    "InMemoryPluginStatsRepository",
    "InMemoryPublisherRepository",
    "InMemoryRateCounters",
    "InMemorySecretBox",
    "InMemorySubscriptionRepository",
    "InMemoryTaskRepository",
    "InMemoryTaskWriter",
    "InMemoryTriggerRepository",
    "InMemoryVersionRepository",
    "InMemoryWebhookRepository",
    "InMemoryWorkQueues",
    "InMemoryWorkspaceRepository",
]
