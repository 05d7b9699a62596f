"""The ports the services need; adapters fill them in (DynamoDB/S3/KMS or in-memory fakes)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from chalicelib.domain.deliveries import Delivery, DeliveryJob, DeliveryStatus, SendResult
from chalicelib.domain.execution import Broker, InvocationOutcome, InvocationRequest
from chalicelib.domain.invocations import Invocation
from chalicelib.domain.live import LiveConnection
from chalicelib.domain.models import (
    ApiKey,
    AuditRecord,
    EventEnvelope,
    Installation,
    Plugin,
    PluginVersion,
    Publisher,
    Task,
    Webhook,
    Workspace,
)
from chalicelib.domain.outbox import NewInstallation
from chalicelib.domain.triggers import Trigger

__all__ = [
    "AiProvider",
    "ApiKeyRepository",
    "ArtifactStore",
    "AuditRepository",
    "Clock",
    "CodeCache",
    "DeliveryQueue",
    "DeliveryRepository",
    "EventBus",
    "GenerationStore",
    "HookRunner",
    "HttpFetcher",
    "IdGenerator",
    "IdempotencyStore",
    "InstallationRepository",
    "InstallationWriter",
    "InvocationRepository",
    "LiveConnectionRepository",
    "LiveSender",
    "MetricUnit",
    "Metrics",
    "Page",
    "PermissionRepository",
    "PluginDataRepository",
    "PluginEventHandler",
    "PluginExecutor",
    "PluginRepository",
    "PublisherRepository",
    "RateCounters",
    "SecretBox",
    "SubscriptionRepository",
    "TaskRepository",
    "TriggerRepository",
    "VersionRepository",
    "WebhookRepository",
    "WebhookSender",
    "WorkQueues",
    "WorkspaceRepository",
]

T = TypeVar("T")
Page = tuple[list[T], str | None]


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class WorkspaceRepository(Protocol):
    def get(self, workspace_id: str) -> Workspace | None: ...
    def put(self, workspace: Workspace) -> None: ...


class ApiKeyRepository(Protocol):
    def get_by_hash(self, key_hash: str) -> ApiKey | None: ...
    def put(self, key: ApiKey) -> None: ...
    def list_for_workspace(self, workspace_id: str) -> list[ApiKey]: ...
    def delete(self, key: ApiKey) -> None: ...


class PluginRepository(Protocol):
    def get(self, plugin_id: str) -> Plugin | None: ...
    def put(self, plugin: Plugin) -> None: ...
    def search(self, *, query: str | None, category: str | None, limit: int, token: str | None) -> Page[Plugin]: ...
    def add_installs(self, plugin_id: str, delta: int) -> None: ...


class VersionRepository(Protocol):
    def get(self, plugin_id: str, version: str) -> PluginVersion | None: ...
    def list_versions(self, plugin_id: str) -> list[PluginVersion]: ...
    def create(self, version: PluginVersion) -> None:
        """Store a new version; ConflictError if it exists (versions are immutable)."""
        ...

    def find_by_digest(self, sha256: str) -> list[PluginVersion]: ...
    def list_pending(self) -> list[PluginVersion]: ...
    def update(self, version: PluginVersion) -> None:
        """Store changed review or deprecation state of an existing version."""
        ...


class InstallationRepository(Protocol):
    def get(self, workspace_id: str, plugin_id: str) -> Installation | None: ...
    def get_by_id(self, workspace_id: str, installation_id: str) -> Installation | None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Installation]: ...
    def create(self, installation: Installation) -> None:
        """Store a new installation; ConflictError if the plugin is already installed."""
        ...

    def put(self, installation: Installation) -> None: ...
    def delete(self, installation: Installation) -> None: ...
    def list_on_version(self, plugin_id: str, version: str) -> builtins.list[Installation]:
        """Every installation, in any workspace, on this exact version (for yanks)."""
        ...


class InstallationWriter(Protocol):
    """Writes a new installation with its grants, install count, subscriptions and events: all or nothing."""

    def create(self, change: NewInstallation) -> None:
        """ConflictError if the plugin is already installed in the workspace (then nothing is written)."""
        ...


class PermissionRepository(Protocol):
    def grant(self, installation_id: str, scopes: list[str], *, by: str, version: str, at: datetime) -> None: ...
    def list(self, installation_id: str) -> list[str]: ...
    def revoke_all(self, installation_id: str) -> None: ...


class WebhookRepository(Protocol):
    def put(self, webhook: Webhook) -> None:
        """Create or replace the webhook, except its failure streak (``record_failure``/``reset_failures``)."""
        ...

    def record_failure(self, workspace_id: str, webhook_id: str, at: datetime) -> Webhook | None:
        """Count one failed attempt atomically (``failing_since`` set once); the webhook now, None if it is gone."""
        ...

    def reset_failures(self, workspace_id: str, webhook_id: str) -> None:
        """Forget the failure streak atomically (after a success or a re-enable); nothing if the webhook is gone."""
        ...

    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Webhook]: ...
    def delete(self, workspace_id: str, webhook_id: str) -> None: ...


class AuditRepository(Protocol):
    def append(self, record: AuditRecord) -> None:
        """Store a record; ConflictError if its seq is taken (another writer won the race)."""
        ...

    def latest(self, workspace_id: str) -> AuditRecord | None:
        """The newest record, fast (may lag after a crash; ``tail`` is exact)."""
        ...

    def tail(self, workspace_id: str) -> AuditRecord | None:
        """The newest record, read from the records themselves."""
        ...

    def head(self, workspace_id: str) -> AuditRecord | None:
        """The head anchored outside the records (the newest record appended), read consistently; None if none."""
        ...

    def chain_key(self, key_id: str) -> str | None:
        """The encrypted key of the chain's MACs, None before the first append ever."""
        ...

    def create_chain_key(self, key_id: str, ciphertext: str) -> str:
        """Store the encrypted chain key unless one exists; return the one stored (first writer wins)."""
        ...

    def query(
        self,
        workspace_id: str,
        *,
        action: str | None,
        actor: str | None,
        target: str | None,
        limit: int,
        token: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        oldest_first: bool = False,
    ) -> Page[AuditRecord]: ...


class ArtifactStore(Protocol):
    def presign_put(self, key: str, *, expires_s: int) -> tuple[str, dict[str, str]]: ...
    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        """The object's bytes, None if absent; InvalidArtifactError if larger than max_bytes."""
        ...

    def put(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


class SecretBox(Protocol):
    def encrypt(self, plaintext: str, *, context: dict[str, str]) -> str: ...
    def decrypt(self, ciphertext: str, *, context: dict[str, str]) -> str: ...


class IdempotencyStore(Protocol):
    def run(self, key: str, payload: dict[str, Any], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run ``fn`` once per key; replay its result for the same key and payload."""
        ...


class TaskRepository(Protocol):
    """The reference host's tasks, per workspace."""

    def get(self, workspace_id: str, task_id: str) -> Task | None: ...
    def put(self, task: Task) -> None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Task]: ...


class EventBus(Protocol):
    """Publishes envelopes (EventBridge on AWS and on moto; an in-memory list in unit tests)."""

    def publish(self, events: list[EventEnvelope]) -> None: ...


# --- plugin execution (issue 4) ------------------------------------------------------------


class InvocationRepository(Protocol):
    """Invocations of an installation (``chalicelib.domain.invocations.Invocation``), newest first."""

    def put(self, invocation: Invocation) -> None: ...
    def get(self, installation_id: str, invocation_id: str) -> Invocation | None: ...
    def list(self, installation_id: str, *, limit: int, token: str | None) -> Page[Invocation]: ...


class PluginDataRepository(Protocol):
    """Plugin key-value storage; ``partition`` is one installation's (see domain.iam.plugin_data_partition)."""

    def get(self, partition: str, key: str) -> Any | None: ...
    def put(self, partition: str, key: str, value: Any) -> None: ...
    def delete(self, partition: str, key: str) -> None: ...
    def list_keys(self, partition: str, *, prefix: str, limit: int) -> list[str]: ...
    def delete_partition(self, partition: str) -> int:
        """Delete every key of one installation (uninstall); returns how many."""
        ...


class HttpFetcher(Protocol):
    """Performs one outbound request to an address already checked and pinned by the caller."""

    def fetch(
        self, *, url: str, pinned_ip: str, method: str, headers: dict[str, str], body: str | None
    ) -> dict[str, Any]: ...


class AiProvider(Protocol):
    """Completes a prompt; raises AiUnavailableError (a clear message for the plugin) when not configured."""

    def complete(self, prompt: str, *, max_tokens: int, system: str | None) -> dict[str, Any]: ...


class PluginExecutor(Protocol):
    """Runs one invocation (sandbox locally, Lambda on AWS); plugin failures are outcomes, never raised."""

    def invoke(self, request: InvocationRequest, broker: Broker) -> InvocationOutcome: ...


class FunctionDeployer(Protocol):
    """Puts a version's code where it runs and takes it away again (services/deployments.py).

    ``synchronous``: deploying is quick and local (the sandbox's code cache), so an approval does it
    on the spot; otherwise (Lambda) the deploy queue's worker does.
    """

    synchronous: bool

    def deploy(self, version: PluginVersion) -> str:
        """Deploy (idempotent); DeploymentFailedError when retrying cannot help."""
        ...

    def remove(self, plugin_id: str, version: str) -> None: ...


class CodeCache(Protocol):
    """A read-only host directory holding a version's unpacked code, reused across invocations."""

    def code_dir(self, version: PluginVersion) -> str: ...


# --- events: subscriptions, work queues, triggers, hooks (the events issue) ---------------------------


class SubscriptionRepository(Protocol):
    """Who receives which event type in a workspace: one row per (``workspace_id#event_type``, target)."""

    def add(self, workspace_id: str, event_types: list[str], target: str) -> None: ...
    def remove(self, workspace_id: str, event_types: list[str], target: str) -> None: ...
    def targets(self, workspace_id: str, event_type: str) -> list[str]:
        """Every target subscribed to the type (one Query on AWS)."""
        ...


class WorkQueues(Protocol):
    """The worker queues by purpose (``dispatch``, ``invoke``, ``delivery``) and their dead-letter queues."""

    def send(self, purpose: str, bodies: list[dict[str, Any]], *, delay_s: int = 0) -> None: ...
    def dead_letter(self, purpose: str, body: str, *, code: str, reason: str) -> None:
        """Put a message on the purpose's DLQ with why it is there (message attributes)."""
        ...


class TriggerRepository(Protocol):
    """Inbound triggers of installations, keyed by (installation_id, name)."""

    def get(self, installation_id: str, name: str) -> Trigger | None: ...
    def put(self, trigger: Trigger) -> None: ...
    def list(self, installation_id: str) -> list[Trigger]: ...
    def delete_all(self, installation_id: str) -> None: ...


class HookRunner(Protocol):
    """Calls one installation's handler for a synchronous hook and returns what it answered.

    May raise, or take longer than ``timeout_s``; the caller enforces the budget either way.
    """

    def call(self, installation: Installation, event: EventEnvelope, *, timeout_s: float) -> dict[str, Any] | None: ...


class PluginEventHandler(Protocol):
    """Runs an installation's event handler for one event taken from the invoke queue.

    Raises to have the message retried (and dead-lettered after the queue's maxReceiveCount).
    """

    def handle(self, installation: Installation, event: EventEnvelope) -> None: ...


class PublisherRepository(Protocol):
    def get(self, publisher_id: str) -> Publisher | None: ...
    def put(self, publisher: Publisher) -> None: ...


class GenerationStore(Protocol):
    """Counters that tell every process its cached copy is stale."""

    def get(self, name: str) -> int: ...
    def bump(self, name: str) -> int: ...


class RateCounters(Protocol):
    """Fixed-window counters shared by every process (services/limits.py)."""

    def take(self, scope: str, window: int, caps: dict[str, int], *, expires_at: int) -> bool:
        """Count one call on every named counter of (scope, window) in one atomic step and answer True, unless
        one of them already reached its cap: then count nothing and answer False. ``expires_at`` (epoch s) lets
        storage forget the window."""
        ...


# --- webhook deliveries (services/deliveries.py) ------------------------------------------


class DeliveryRepository(Protocol):
    """Deliveries of one endpoint, keyed by (webhook_id, delivery_id); delivery ids sort by time."""

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None: ...
    def create(self, delivery: Delivery) -> bool:
        """Store a new delivery; False (and nothing written) if it already exists."""
        ...

    def save(self, delivery: Delivery) -> bool:
        """Write ``delivery`` if the stored version is still ``delivery.version``; bump it. False if not."""
        ...

    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        since_id: str | None,
        limit: int,
        token: str | None,
        newest_first: bool = True,
    ) -> Page[Delivery]: ...


class DeliveryQueue(Protocol):
    """The durable delivery queue (SQS on AWS and on moto). Delays above 900 s are the caller's to split."""

    def send(self, job: DeliveryJob, *, delay_s: int) -> None: ...


class WebhookSender(Protocol):
    """Sends one signed POST to an endpoint, refusing unsafe addresses; never raises for HTTP trouble."""

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult: ...


# --- observability (adapters/metrics.py) ---------------------------------------------------

MetricUnit = Literal["Count", "Milliseconds", "Megabytes"]


class Metrics(Protocol):
    """Application metrics: namespace ``Plugyard``, dimension ``Stage`` only (the alarms depend on it).

    Services ``add``; the entry points ``flush`` once per Lambda invocation (request or batch).
    """

    def add(self, name: str, value: float = 1, unit: MetricUnit = "Count") -> None: ...
    def flush(self) -> None: ...


# --- live events over WebSocket (services/live.py) ----------------------------------------


class LiveConnectionRepository(Protocol):
    """Open WebSocket connections, found by workspace (fan-out) and by connection id ($disconnect)."""

    def put(self, connection: LiveConnection) -> None: ...
    def get(self, connection_id: str) -> LiveConnection | None: ...
    def delete(self, connection_id: str) -> None: ...
    def list_for_workspace(self, workspace_id: str, *, now: datetime) -> list[LiveConnection]:
        """The workspace's connections that have not expired at ``now``."""
        ...


class LiveSender(Protocol):
    """Pushes one text frame to one connection (API Gateway Management API; the local websocket server).

    Returns False when the connection is gone (the caller forgets it); raises for anything else.
    """

    def send(self, connection_id: str, frame: str) -> bool: ...
