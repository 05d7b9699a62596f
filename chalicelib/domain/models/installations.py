"""Installations of a plugin in a workspace, their upgrades and configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from chalicelib.domain.models._command import _Command
from chalicelib.domain.models.plugins import VersionView

__all__ = [
    "DevInstallation",
    "InstallRequest",
    "Installation",
    "InstallationPage",
    "PendingUpgrade",
    "ScopeChange",
    "SetStateRequest",
    "UpdateConfigRequest",
    "UpgradeOptions",
    "UpgradeRequest",
    "VersionChange",
]


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
    development: bool = Field(
        False,
        description="A development installation: runs an unpublished, unreviewed upload of this workspace "
        "(PUT /api/dev/installations/{plugin_id}).",
    )


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


class VersionChange(BaseModel):
    """What moving an installation to ``version`` changes, against the version it runs and its grants."""

    version: str
    changelog: str
    scopes_added: list[ScopeChange] = Field(description="Scopes the version requests that are not granted yet")
    scopes_removed: list[ScopeChange] = Field(description="Granted scopes the version no longer requests")
    hosts_added: list[str] = Field(description="Hosts ctx.http.fetch may reach that the current version may not")
    hosts_removed: list[str]
    events_added: list[str] = Field(description="Event types it subscribes to that the current version does not")
    events_removed: list[str]
    needs_consent: bool = Field(description="True when scopes_added is not empty: an upgrade waits for consent")


class UpgradeOptions(BaseModel):
    """An installation with the version it runs, where it can upgrade to and where a rollback returns."""

    installation: Installation
    current: VersionView = Field(description="The version it runs: its config schema, entry points, permissions")
    upgrades: list[VersionChange] = Field(description="Newer installable versions, newest first")
    rollback: VersionChange | None = Field(
        description="The version before the last upgrade, when it can still be installed; null otherwise"
    )


class DevInstallation(BaseModel):
    """What a development upload made: the installation, and what it runs and may do."""

    installation: Installation
    manifest_version: str = Field(description="The version the uploaded manifest declares.")
    artifact_sha256: str
    size_bytes: int
    created: bool = Field(description="True when this upload created the installation, false when it updated it.")
    granted: list[str] = Field(description="Every scope the manifest requests, granted in this workspace only.")
    notice: str
