"""Workspaces and their API keys."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.models import ApiKey, Workspace

__all__ = ["ApiKeyRepository", "WorkspaceRepository"]


class WorkspaceRepository(Protocol):
    def get(self, workspace_id: str) -> Workspace | None: ...
    def put(self, workspace: Workspace) -> None: ...


class ApiKeyRepository(Protocol):
    def get_by_hash(self, key_hash: str) -> ApiKey | None: ...
    def put(self, key: ApiKey) -> None: ...
    def list_for_workspace(self, workspace_id: str) -> list[ApiKey]: ...
    def delete(self, key: ApiKey) -> None: ...
