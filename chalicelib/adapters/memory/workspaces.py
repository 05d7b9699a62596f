"""Workspaces and their API keys."""

from __future__ import annotations

from chalicelib.domain.models import (
    ApiKey,
    Workspace,
)

__all__ = ["InMemoryApiKeyRepository", "InMemoryWorkspaceRepository"]


class InMemoryWorkspaceRepository:
    def __init__(self) -> None:
        self.items: dict[str, Workspace] = {}

    def get(self, workspace_id: str) -> Workspace | None:
        return self.items.get(workspace_id)

    def put(self, workspace: Workspace) -> None:
        self.items[workspace.workspace_id] = workspace


class InMemoryApiKeyRepository:
    def __init__(self) -> None:
        self.items: dict[str, ApiKey] = {}

    def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.items.get(key_hash)

    def put(self, key: ApiKey) -> None:
        self.items[key.key_hash] = key

    def list_for_workspace(self, workspace_id: str) -> list[ApiKey]:
        return sorted((k for k in self.items.values() if k.workspace_id == workspace_id), key=lambda k: k.key_id)

    def delete(self, key: ApiKey) -> None:
        self.items.pop(key.key_hash, None)
