"""The ports the services need; adapters fill them in (DynamoDB/S3/KMS or in-memory fakes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from chalicelib.domain.models import (
    ApiKey,
    AuditRecord,
    EventEnvelope,
    Installation,
    Plugin,
    PluginVersion,
    Task,
    Webhook,
    Workspace,
)

__all__ = [
    "ApiKeyRepository",
    "ArtifactStore",
    "AuditRepository",
    "Clock",
    "EventBus",
    "IdGenerator",
    "IdempotencyStore",
    "InstallationRepository",
    "Page",
    "PermissionRepository",
    "PluginRepository",
    "SecretBox",
    "TaskRepository",
    "VersionRepository",
    "WebhookRepository",
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


class InstallationRepository(Protocol):
    def get(self, workspace_id: str, plugin_id: str) -> Installation | None: ...
    def get_by_id(self, workspace_id: str, installation_id: str) -> Installation | None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Installation]: ...
    def create(self, installation: Installation) -> None:
        """Store a new installation; ConflictError if the plugin is already installed."""
        ...

    def put(self, installation: Installation) -> None: ...
    def delete(self, installation: Installation) -> None: ...


class PermissionRepository(Protocol):
    def grant(self, installation_id: str, scopes: list[str], *, by: str, version: str, at: datetime) -> None: ...
    def list(self, installation_id: str) -> list[str]: ...
    def revoke_all(self, installation_id: str) -> None: ...


class WebhookRepository(Protocol):
    def put(self, webhook: Webhook) -> None: ...
    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Webhook]: ...
    def delete(self, workspace_id: str, webhook_id: str) -> None: ...


class AuditRepository(Protocol):
    def append(self, record: AuditRecord) -> None: ...
    def query(
        self,
        workspace_id: str,
        *,
        action: str | None,
        actor: str | None,
        target: str | None,
        limit: int,
        token: str | None,
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
