"""Workspaces and their API keys."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.adapters.dynamo.base import (
    DocItem,
    TableMeta,
    Translate,
    dump,
    get_or_none,
)
from chalicelib.domain.models import (
    ApiKey,
    Workspace,
)

__all__ = ["DynamoApiKeyRepository", "DynamoWorkspaceRepository"]


class WorkspaceItem(DocItem):
    class Meta(TableMeta):
        purpose = "workspaces"

    workspace_id = UnicodeAttribute(hash_key=True)


class ByWorkspaceIndex(GlobalSecondaryIndex["ApiKeyItem"]):
    class Meta:
        index_name = "by-workspace"
        projection = AllProjection()

    workspace_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)


class ApiKeyItem(DocItem):
    class Meta(TableMeta):
        purpose = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute()
    key_id = UnicodeAttribute()
    by_workspace = ByWorkspaceIndex()


class DynamoWorkspaceRepository:
    def get(self, workspace_id: str) -> Workspace | None:
        with Translate():
            item = get_or_none(WorkspaceItem, workspace_id)
        return item.load(Workspace) if item else None

    def put(self, workspace: Workspace) -> None:
        WorkspaceItem(workspace.workspace_id, doc=dump(workspace)).save()


class DynamoApiKeyRepository:
    def get_by_hash(self, key_hash: str) -> ApiKey | None:
        with Translate():
            item = get_or_none(ApiKeyItem, key_hash)
        return item.load(ApiKey) if item else None

    def put(self, key: ApiKey) -> None:
        ApiKeyItem(key.key_hash, workspace_id=key.workspace_id, key_id=key.key_id, doc=dump(key)).save()

    def list_for_workspace(self, workspace_id: str) -> list[ApiKey]:
        return [i.load(ApiKey) for i in ApiKeyItem.by_workspace.query(workspace_id)]

    def delete(self, key: ApiKey) -> None:
        ApiKeyItem(key.key_hash).delete()
