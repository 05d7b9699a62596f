"""The composition root: builds adapters and services once per process from Settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.adapters import memory
from chalicelib.adapters.system import SystemClock, UlidGenerator
from chalicelib.config import Settings
from chalicelib.domain.manifest import PlatformCaps
from chalicelib.domain.netguard import Resolver, system_resolver
from chalicelib.ports import (
    ApiKeyRepository,
    ArtifactStore,
    AuditRepository,
    Clock,
    IdempotencyStore,
    IdGenerator,
    InstallationRepository,
    PermissionRepository,
    PluginRepository,
    SecretBox,
    VersionRepository,
    WebhookRepository,
    WorkspaceRepository,
)
from chalicelib.services.audit import AuditService
from chalicelib.services.auth import AuthService
from chalicelib.services.installs import InstallService
from chalicelib.services.marketplace import MarketplaceService
from chalicelib.services.webhooks import WebhookService

__all__ = ["Adapters", "Services", "build_services", "in_memory_adapters", "reset_services", "services"]


@dataclass
class Adapters:
    """Every port, filled in."""

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
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=UlidGenerator)
    resolver: Resolver = system_resolver
    readiness: dict[str, Callable[[], None]] = field(default_factory=dict)


@dataclass
class Services:
    """The use cases the routes and workers call."""

    settings: Settings
    adapters: Adapters
    audit: AuditService
    auth: AuthService
    marketplace: MarketplaceService
    installs: InstallService
    webhooks: WebhookService


def in_memory_adapters() -> Adapters:
    """Fakes of every port: unit tests and nothing else."""
    return Adapters(
        workspaces=memory.InMemoryWorkspaceRepository(),
        keys=memory.InMemoryApiKeyRepository(),
        plugins=memory.InMemoryPluginRepository(),
        versions=memory.InMemoryVersionRepository(),
        installs=memory.InMemoryInstallationRepository(),
        permissions=memory.InMemoryPermissionRepository(),
        webhooks=memory.InMemoryWebhookRepository(),
        audit=memory.InMemoryAuditRepository(),
        artifacts=memory.InMemoryArtifactStore(),
        secrets=memory.InMemorySecretBox(),
        idempotency=memory.InMemoryIdempotencyStore(),
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
        readiness={"dynamodb": tables_ready, "s3": s3.ping, "kms": kms.ping},
    )


def build_services(settings: Settings, adapters: Adapters) -> Services:
    """Wire services to adapters."""
    a = adapters
    audit = AuditService(a.audit, a.clock, a.ids)
    marketplace = MarketplaceService(
        a.plugins,
        a.versions,
        a.artifacts,
        audit,
        a.clock,
        a.ids,
        caps=PlatformCaps(max_memory_mb=settings.max_memory_mb, max_timeout_s=settings.max_timeout_s),
        host_version=settings.host_version,
        max_artifact_bytes=settings.max_artifact_bytes,
        upload_ttl_s=settings.upload_url_ttl_s,
    )
    return Services(
        settings=settings,
        adapters=a,
        audit=audit,
        auth=AuthService(a.workspaces, a.keys, audit, a.clock, a.ids),
        marketplace=marketplace,
        installs=InstallService(
            marketplace, a.plugins, a.installs, a.permissions, a.idempotency, audit, a.clock, a.ids
        ),
        webhooks=WebhookService(
            a.webhooks,
            a.secrets,
            audit,
            a.clock,
            a.ids,
            allow_private=settings.webhooks_allow_private,
            resolve=a.resolver,
        ),
    )


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """The process's services, built on first use (never at import time)."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                settings = Settings()
                _services = build_services(settings, aws_adapters(settings))
    return _services


def reset_services(value: Services | None = None) -> None:
    """Replace the process's services (tests) or drop them so the next call rebuilds."""
    global _services
    _services = value
