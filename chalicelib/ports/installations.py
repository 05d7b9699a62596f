"""Installations and the scopes granted to them."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from chalicelib.domain.models import Installation
from chalicelib.domain.outbox import NewInstallation, RemovedInstallation
from chalicelib.ports.platform import Page

__all__ = ["InstallationRepository", "InstallationWriter", "PermissionRepository"]


class InstallationRepository(Protocol):
    def get(self, workspace_id: str, plugin_id: str) -> Installation | None: ...
    def get_by_id(self, workspace_id: str, installation_id: str) -> Installation | None: ...
    def get_many(self, keys: builtins.list[tuple[str, str]]) -> builtins.list[Installation]:
        """The installations at these (workspace_id, plugin_id) keys that exist, read consistently at once."""
        ...

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

    def create(self, change: NewInstallation) -> bool:
        """Write it all; ConflictError if the plugin is already installed in the workspace (nothing written).

        False, with nothing written, when ``change.audit``'s position in the chain was taken meanwhile.
        """
        ...

    def remove(self, change: RemovedInstallation) -> bool:
        """Remove it all; InstallationNotFoundError if the installation is gone already (nothing written).

        False, with nothing written, when ``change.audit``'s position in the chain was taken meanwhile.
        """
        ...


class PermissionRepository(Protocol):
    def grant(self, installation_id: str, scopes: list[str], *, by: str, version: str, at: datetime) -> None: ...
    def list(self, installation_id: str) -> list[str]: ...
    def revoke_all(self, installation_id: str) -> None: ...
