"""Domain objects and the commands/views the API speaks; pure pydantic, no I/O.

One module per aggregate; every name is re-exported here, so ``from chalicelib.domain.models import X``
keeps working wherever X lives."""

from __future__ import annotations

from chalicelib.domain.models.audit import AuditPage, AuditRecord, AuditVerification
from chalicelib.domain.models.events import EventEnvelope
from chalicelib.domain.models.identities import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyView,
    Caller,
    CreateApiKeyRequest,
    Workspace,
)
from chalicelib.domain.models.installations import (
    DevInstallation,
    Installation,
    InstallationPage,
    InstallRequest,
    PendingUpgrade,
    ScopeChange,
    SetStateRequest,
    UpdateConfigRequest,
    UpgradeOptions,
    UpgradeRequest,
    VersionChange,
)
from chalicelib.domain.models.plugins import (
    DeprecateRequest,
    Plugin,
    PluginDetail,
    PluginPage,
    PluginSummary,
    PluginVersion,
    ReviewDecision,
    ReviewItem,
    ReviewQueue,
    ScopeView,
    SubmitVersionRequest,
    UploadTicket,
    VersionView,
)
from chalicelib.domain.models.publishers import (
    CreatePublisherRequest,
    Publisher,
    PublisherKey,
    PublisherView,
    RegisterKeyRequest,
    VerifyPublisherRequest,
)
from chalicelib.domain.models.review import ArtifactFile, PermissionDiff, VersionReport
from chalicelib.domain.models.tasks import Task
from chalicelib.domain.models.webhooks import (
    RegisterWebhookRequest,
    SecretRotated,
    UpdateWebhookRequest,
    Webhook,
    WebhookCreated,
    WebhookPage,
    WebhookView,
)

__all__ = [
    "ApiKey",
    "ApiKeyCreated",
    "ApiKeyView",
    "ArtifactFile",
    "AuditPage",
    "AuditRecord",
    "AuditVerification",
    "Caller",
    "CreateApiKeyRequest",
    "CreatePublisherRequest",
    "DeprecateRequest",
    "DevInstallation",
    "EventEnvelope",
    "InstallRequest",
    "Installation",
    "InstallationPage",
    "PendingUpgrade",
    "PermissionDiff",
    "Plugin",
    "PluginDetail",
    "PluginPage",
    "PluginSummary",
    "PluginVersion",
    "Publisher",
    "PublisherKey",
    "PublisherView",
    "RegisterKeyRequest",
    "RegisterWebhookRequest",
    "ReviewDecision",
    "ReviewItem",
    "ReviewQueue",
    "ScopeChange",
    "ScopeView",
    "SecretRotated",
    "SetStateRequest",
    "SubmitVersionRequest",
    "Task",
    "UpdateConfigRequest",
    "UpdateWebhookRequest",
    "UpgradeOptions",
    "UpgradeRequest",
    "UploadTicket",
    "VerifyPublisherRequest",
    "VersionChange",
    "VersionReport",
    "VersionView",
    "Webhook",
    "WebhookCreated",
    "WebhookPage",
    "WebhookView",
    "Workspace",
]
