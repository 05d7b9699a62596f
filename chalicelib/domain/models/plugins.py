"""Plugins and their versions: what is stored, published, reviewed and listed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models._command import _Command
from chalicelib.domain.scan import ScanReport, ScanStatus

__all__ = [
    "DeprecateRequest",
    "Plugin",
    "PluginDetail",
    "PluginPage",
    "PluginSummary",
    "PluginVersion",
    "ReviewDecision",
    "ReviewItem",
    "ReviewQueue",
    "ScopeView",
    "SubmitVersionRequest",
    "UploadTicket",
    "VersionView",
]


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
    # ``development``: a workspace's unpublished, unreviewed upload (services/dev_installs.py); never listed.
    state: Literal["pending", "approved", "rejected", "yanked", "development"] = "pending"
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
    # The upload scan (domain/scan.py); None for versions published before the scan existed.
    scan: ScanReport | None = None

    @property
    def installable(self) -> bool:
        """Versions a workspace may install: approved by a reviewer and not yanked."""
        return self.state == "approved"


class ReviewDecision(_Command):
    """Approve or reject a pending version, or yank an approved one."""

    reason: str = Field("", max_length=2000)
    acknowledge_scan_failure: bool = Field(
        False,
        description="Approve although the version's upload scan failed (or never ran): the reviewer checked by hand",
    )


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
    scan_status: ScanStatus = Field(description="passed | findings | failed (a missing scan counts as failed)")
    scan_findings: int = 0


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
    allowed_hosts: list[str] = Field(
        default_factory=list, description="The only hosts http:fetch may reach (the manifest's http.allowed_hosts)"
    )
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
    scan_status: ScanStatus | None = Field(
        None, description="Its upload scan's outcome; shown to its publisher and to reviewers only"
    )


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
