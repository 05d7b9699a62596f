"""Installations and the permissions granted to them."""

from __future__ import annotations

import builtins
from datetime import datetime

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.models import (
    Installation,
)

__all__ = ["InMemoryInstallationRepository", "InMemoryPermissionRepository"]


class InMemoryInstallationRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Installation] = {}

    def get(self, workspace_id: str, plugin_id: str) -> Installation | None:
        return self.items.get((workspace_id, plugin_id))

    def get_by_id(self, workspace_id: str, installation_id: str) -> Installation | None:
        for (ws, _), inst in self.items.items():
            if ws == workspace_id and inst.installation_id == installation_id:
                return inst
        return None

    def get_many(self, keys: builtins.list[tuple[str, str]]) -> builtins.list[Installation]:
        return [self.items[k] for k in sorted(set(keys)) if k in self.items]

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Installation], str | None]:
        items = [i for (ws, _), i in sorted(self.items.items()) if ws == workspace_id]
        return page(items, lambda i: {"workspace_id": i.workspace_id, "plugin_id": i.plugin_id}, limit, token)

    def create(self, installation: Installation) -> None:
        key = (installation.workspace_id, installation.plugin_id)
        if key in self.items:
            raise ConflictError(f"'{installation.plugin_id}' is already installed in this workspace.")
        self.items[key] = installation

    def put(self, installation: Installation) -> None:
        self.items[(installation.workspace_id, installation.plugin_id)] = installation

    def list_on_version(self, plugin_id: str, version: str) -> builtins.list[Installation]:
        return [i for i in self.items.values() if i.plugin_id == plugin_id and i.version == version]

    def delete(self, installation: Installation) -> None:
        self.items.pop((installation.workspace_id, installation.plugin_id), None)


class InMemoryPermissionRepository:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, dict[str, str]]] = {}

    def grant(self, installation_id: str, scopes: list[str], *, by: str, version: str, at: datetime) -> None:
        grants = self.items.setdefault(installation_id, {})
        for scope in scopes:
            grants[scope] = {"by": by, "version": version, "at": at.isoformat()}

    def list(self, installation_id: str) -> list[str]:
        return sorted(self.items.get(installation_id, {}))

    def revoke_all(self, installation_id: str) -> None:
        self.items.pop(installation_id, None)
