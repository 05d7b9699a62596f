"""Domain objects and the commands/views the API speaks; pure pydantic, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from chalicelib.domain.manifest import Manifest
from chalicelib.domain.permissions import ROLE_ACTIONS, Action, Role

__all__ = [
    "ApiKey",
    "ApiKeyCreated",
    "ApiKeyView",
    "AuditPage",
    "AuditRecord",
    "Caller",
    "CreateApiKeyRequest",
    "EventEnvelope",
    "InstallRequest",
    "Installation",
    "InstallationPage",
    "Plugin",
    "PluginDetail",
    "PluginPage",
    "PluginSummary",
    "PluginVersion",
    "RegisterWebhookRequest",
    "SubmitVersionRequest",
    "Task",
    "UploadTicket",
    "VersionView",
    "Webhook",
    "WebhookCreated",
    "WebhookPage",
    "WebhookView",
    "Workspace",
]


class _Command(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- identities -------------------------------------------------------------------------


class Workspace(BaseModel):
    """A tenant: everything installed, registered or audited belongs to exactly one."""

    workspace_id: str
    name: str
    publisher_id: str | None = None
    created_at: datetime


class ApiKey(BaseModel):
    """An API key as stored: only its hash, never the key."""

    key_id: str
    key_hash: str
    workspace_id: str
    role: Role
    name: str
    created_at: datetime
    created_by: str
    revoked: bool = False


class Caller(BaseModel):
    """Who is making a request: workspace, role and key."""

    workspace_id: str
    role: Role
    key_id: str
    publisher_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key:{self.key_id}"

    def can(self, action: Action) -> bool:
        """True when the caller's role allows the action."""
        return action in ROLE_ACTIONS[self.role]


class CreateApiKeyRequest(_Command):
    """Create an API key in the caller's workspace."""

    name: str = Field(min_length=1, max_length=80)
    role: Role


class ApiKeyView(BaseModel):
    """An API key without its secret."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str


class ApiKeyCreated(ApiKeyView):
    """The one response that carries the key itself."""

    key: str = Field(description="The API key. Shown once; store it now.")


# --- marketplace ------------------------------------------------------------------------


class Plugin(BaseModel):
    """A plugin in the marketplace; its versions live in PluginVersion."""

    plugin_id: str
    publisher: str
    owner_workspace_id: str
    name: str
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    latest_version: str | None = None
    permissions: list[str] = Field(default_factory=list)
    install_count: int = 0
    status: Literal["active", "deprecated"] = "active"
    created_at: datetime
    updated_at: datetime


class PluginVersion(BaseModel):
    """One immutable, published version of a plugin."""

    plugin_id: str
    version: str
    manifest: Manifest
    artifact_sha256: str
    artifact_key: str
    size_bytes: int
    state: Literal["published", "pending", "approved", "rejected", "yanked"] = "published"
    published_at: datetime
    published_by: str

    @property
    def installable(self) -> bool:
        """Versions a workspace may install."""
        return self.state in ("published", "approved")


class PluginSummary(BaseModel):
    """A plugin as the listing shows it."""

    plugin_id: str
    name: str
    description: str
    latest_version: str | None
    categories: list[str]
    permissions: list[str]
    publisher: str
    install_count: int
    updated_at: datetime


class PluginPage(BaseModel):
    """One page of the marketplace listing."""

    items: list[PluginSummary]
    next_token: str | None = None


class ScopeView(BaseModel):
    """A scope with its plain-words meaning and the publisher's note."""

    scope: str
    description: str
    note: str | None = None


class VersionView(BaseModel):
    """A version as the plugin detail shows it."""

    version: str
    state: str
    published_at: datetime
    artifact_sha256: str
    size_bytes: int
    permissions: list[ScopeView]
    events: list[str]
    entrypoints: dict[str, str]
    memory_mb: int
    timeout_s: float
    host_versions: str
    changelog: str
    config_schema: dict[str, Any]


class PluginDetail(PluginSummary):
    """A plugin with its versions, newest first."""

    versions: list[VersionView]


class UploadTicket(BaseModel):
    """Where to PUT a plugin zip before submitting it."""

    upload_id: str
    url: str = Field(description="Presigned S3 URL; PUT the zip here.")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class SubmitVersionRequest(_Command):
    """Publish the zip uploaded under ``upload_id`` as a new version."""

    upload_id: str = Field(min_length=26, max_length=26, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")


# --- installations ----------------------------------------------------------------------


class InstallRequest(_Command):
    """Install a plugin into the caller's workspace, granting scopes."""

    plugin_id: str = Field(min_length=1, max_length=64)
    version: str | None = Field(None, description="Exact version; omitted = latest installable.")
    grant: list[str] = Field(default_factory=list, max_length=32, description="Scopes granted.")
    config: dict[str, Any] | None = None


class Installation(BaseModel):
    """A plugin installed in a workspace."""

    installation_id: str
    workspace_id: str
    plugin_id: str
    version: str
    state: Literal["enabled", "disabled", "pending_consent"] = "enabled"
    granted: list[str]
    config: dict[str, Any] = Field(default_factory=dict)
    installed_at: datetime
    installed_by: str
    updated_at: datetime
    history: list[dict[str, Any]] = Field(default_factory=list)


class InstallationPage(BaseModel):
    """The workspace's installations."""

    items: list[Installation]
    next_token: str | None = None


# --- webhooks ---------------------------------------------------------------------------


class RegisterWebhookRequest(_Command):
    """Register an endpoint for a set of event types."""

    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, max_length=50)
    description: str = Field("", max_length=500)


class Webhook(BaseModel):
    """A webhook endpoint as stored (secret encrypted)."""

    webhook_id: str
    workspace_id: str
    url: str
    event_types: list[str]
    description: str = ""
    secret_ciphertext: str
    state: Literal["enabled", "disabled"] = "enabled"
    disabled_reason: str | None = None
    created_at: datetime
    created_by: str


class WebhookView(BaseModel):
    """A webhook as the API shows it: never the secret."""

    webhook_id: str
    url: str
    event_types: list[str]
    description: str
    state: str
    disabled_reason: str | None = None
    created_at: datetime


class WebhookCreated(WebhookView):
    """The one response that carries the signing secret."""

    secret: str = Field(description="Standard Webhooks signing secret (whsec_…). Shown once.")


class WebhookPage(BaseModel):
    """The workspace's webhooks."""

    items: list[WebhookView]
    next_token: str | None = None


# --- tasks (the reference host) and events ---------------------------------------------


class Task(BaseModel):
    """A task of the reference host application; its lifecycle emits ``task.*`` events."""

    workspace_id: str
    task_id: str
    title: str
    status: Literal["pending", "running", "completed", "failed", "vetoed"] = "pending"
    data: dict[str, Any] = Field(default_factory=dict)
    annotations: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class EventEnvelope(BaseModel):
    """The one envelope every event travels in (host, plugin or workspace-published)."""

    id: str = Field(description="ULID, unique per event.")
    source: str = Field(description="plugyard.host, plugyard.plugin.<id> or plugyard.workspace")
    type: str
    workspace_id: str
    time: datetime
    data: dict[str, Any] = Field(default_factory=dict)


# --- audit ------------------------------------------------------------------------------


class AuditRecord(BaseModel):
    """Who did what to which target, and how it ended."""

    workspace_id: str
    seq: str
    time: datetime
    actor: str
    action: str
    target: str
    outcome: Literal["success", "denied", "failed"]
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditPage(BaseModel):
    """One page of the workspace's audit log, newest first."""

    items: list[AuditRecord]
    next_token: str | None = None
