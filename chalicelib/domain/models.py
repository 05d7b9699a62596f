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
    "AuditVerification",
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
    "SecretRotated",
    "SubmitVersionRequest",
    "Task",
    "UpdateWebhookRequest",
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
    deprecation_message: str | None = None
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
    state: Literal["pending", "approved", "rejected", "yanked"] = "pending"
    published_at: datetime
    published_by: str
    signature: str = ""
    signing_key_id: str = ""
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None
    deprecated: bool = False
    deprecation_message: str | None = None
    # Where its code runs (domain/deployments.py): set at approval, None before it.
    deployment: Literal["deploying", "ready", "failed"] | None = None
    deployment_reason: str | None = None
    deployed_at: datetime | None = None

    @property
    def installable(self) -> bool:
        """Versions a workspace may install: approved by a reviewer and not yanked."""
        return self.state == "approved"


class PublisherKey(BaseModel):
    """An Ed25519 public key a publisher signs artifacts with."""

    key_id: str
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")
    created_at: datetime
    revoked: bool = False


class Publisher(BaseModel):
    """A publisher profile: its keys and whether a reviewer verified it."""

    publisher_id: str
    name: str
    owner_workspace_id: str
    verified: bool = False
    verified_by: str | None = None
    verified_at: datetime | None = None
    keys: list[PublisherKey] = Field(default_factory=list)


class PublisherView(BaseModel):
    """A publisher as anyone may see it."""

    publisher_id: str
    name: str
    verified: bool
    keys: list[PublisherKey]


class RegisterKeyRequest(_Command):
    """Register a signing key for the caller's publisher."""

    public_key: str = Field(min_length=40, max_length=64, description="base64 raw Ed25519 public key")


class VerifyPublisherRequest(_Command):
    """A reviewer marks a publisher verified (or not)."""

    verified: bool = True


class ReviewDecision(_Command):
    """Approve or reject a pending version, or yank an approved one."""

    reason: str = Field("", max_length=2000)


class DeprecateRequest(_Command):
    """A publisher deprecates a version or a whole plugin."""

    message: str = Field(min_length=1, max_length=500)


class ReviewItem(BaseModel):
    """A version waiting for review."""

    plugin_id: str
    version: str
    publisher: str
    publisher_verified: bool
    published_at: datetime
    permissions: list[str]
    artifact_sha256: str
    size_bytes: int


class ReviewQueue(BaseModel):
    """Versions pending review, oldest first."""

    items: list[ReviewItem]


class PluginSummary(BaseModel):
    """A plugin as the listing shows it."""

    plugin_id: str
    name: str
    description: str
    latest_version: str | None
    categories: list[str]
    permissions: list[str]
    publisher: str
    publisher_verified: bool = False
    deprecated: bool = False
    deprecation_message: str | None = None
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
    deprecated: bool = False
    deprecation_message: str | None = None
    review_reason: str | None = None
    deployment: Literal["deploying", "ready", "failed"] | None = Field(
        None, description="Where its code runs: deploying after approval, then ready (or failed, with a reason)"
    )
    deployment_reason: str | None = None


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
    """Publish the zip uploaded under ``upload_id`` as a new version, signed by the publisher."""

    upload_id: str = Field(min_length=26, max_length=26, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    signature: str = Field(
        min_length=1, max_length=200, description="base64 Ed25519 signature over the zip's sha256 (hex)"
    )
    key_id: str | None = Field(None, description="Which registered key signed it (any active key if omitted).")


# --- installations ----------------------------------------------------------------------


class InstallRequest(_Command):
    """Install a plugin into the caller's workspace, granting scopes."""

    plugin_id: str = Field(min_length=1, max_length=64)
    version: str | None = Field(
        None, description="Exact version or range ('^1.2', '~1.2.3', '>=1.0.0,<2.0.0'); omitted = latest installable."
    )
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
    secret_fields: list[str] = Field(default_factory=list, description="Config fields stored encrypted.")
    secret_config_ciphertext: str | None = Field(None, exclude=True)
    disabled_reason: str | None = None
    pending_upgrade: PendingUpgrade | None = None
    run_under_old_grants: bool = Field(False, description="Running a version whose new scopes are not granted.")
    installed_at: datetime
    installed_by: str
    updated_at: datetime
    history: list[dict[str, Any]] = Field(default_factory=list)


class ScopeChange(BaseModel):
    """A scope an upgrade asks for, in words an admin understands."""

    scope: str
    description: str
    note: str | None = None


class PendingUpgrade(BaseModel):
    """An upgrade waiting for an admin to consent to new scopes."""

    version: str
    new_scopes: list[ScopeChange]
    requested_at: datetime


class UpgradeRequest(_Command):
    """Move an installation to another version (default: the latest installable)."""

    version: str | None = None
    grant: list[str] = Field(default_factory=list, max_length=32, description="Consent to these new scopes.")
    keep_grants: bool = Field(
        False, description="Run the new version under the current grants; calls to new scopes fail cleanly."
    )
    config: dict[str, Any] | None = None


class UpdateConfigRequest(_Command):
    """Replace an installation's configuration."""

    config: dict[str, Any]


class SetStateRequest(_Command):
    """Why an installation is being disabled (optional)."""

    reason: str = Field("", max_length=500)


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
    signature_scheme: Literal["v1", "v1a"] = Field(
        "v1", description="v1: HMAC-SHA256 with a whsec_ secret; v1a: Ed25519, verified with the returned whpk_ key."
    )
    rate_limit_per_s: float | None = Field(None, gt=0, le=1000, description="Most deliveries per second; excess waits.")


class UpdateWebhookRequest(_Command):
    """Change an endpoint's description or rate limit (null removes the limit)."""

    description: str | None = Field(None, max_length=500)
    rate_limit_per_s: float | None = Field(None, gt=0, le=1000)


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
    # Standard Webhooks signing (services/webhooks.py, domain/webhook_signatures.py): for v1a the
    # ciphertext holds the whsk_ key and public_key its whpk_ twin. After a rotation the previous
    # key keeps signing alongside the new one until previous_expires_at.
    signature_scheme: Literal["v1", "v1a"] = "v1"
    public_key: str | None = None
    previous_secret_ciphertext: str | None = None
    previous_public_key: str | None = None
    previous_expires_at: datetime | None = None
    rate_limit_per_s: float | None = None
    # Failure tracking for automatic disabling (services/deliveries.py).
    failing_since: datetime | None = None
    failed_attempts: int = 0
    disabled_at: datetime | None = None


class WebhookView(BaseModel):
    """A webhook as the API shows it: never the secret."""

    webhook_id: str
    url: str
    event_types: list[str]
    description: str
    state: str
    disabled_reason: str | None = None
    created_at: datetime
    signature_scheme: str = "v1"
    public_key: str | None = Field(None, description="v1a only: the whpk_ key receivers verify with.")
    previous_public_key: str | None = None
    previous_expires_at: datetime | None = None
    rate_limit_per_s: float | None = None
    failing_since: datetime | None = None
    disabled_at: datetime | None = None


class WebhookCreated(WebhookView):
    """The one response that carries the signing secret."""

    secret: str | None = Field(
        description="Standard Webhooks signing secret (whsec_…). Shown once. None for v1a (use public_key)."
    )


class SecretRotated(WebhookView):
    """A rotation's result: the new secret (v1) or public key (v1a), shown once."""

    secret: str | None = Field(description="The new whsec_ secret (v1); None for v1a.")
    overlap_until: datetime = Field(description="Until then the previous key signs alongside the new one.")


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
    prev_hash: str = Field("", description="hash of the previous record of the workspace ('' for the first)")
    hash: str = Field("", description="HMAC-SHA256 (the platform's audit key) of this record's content and prev_hash")


class AuditVerification(BaseModel):
    """Result of walking a workspace's audit hash chain."""

    ok: bool
    checked: int
    first_bad_seq: str | None = None
    reason: str | None = None
    complete: bool = Field(True, description="false when this call stopped early; continue with next_token")
    next_token: str | None = None


class AuditPage(BaseModel):
    """One page of the workspace's audit log, newest first."""

    items: list[AuditRecord]
    next_token: str | None = None
