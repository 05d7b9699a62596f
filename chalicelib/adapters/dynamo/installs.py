"""Installations and the permissions granted to them."""

from __future__ import annotations

import builtins
import json
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.adapters.dynamo.base import (
    DocItem,
    TableMeta,
    Translate,
    get_or_none,
    is_conditional,
    page_start,
    page_token,
)
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.models import (
    Installation,
)

__all__ = ["DynamoInstallationRepository", "DynamoPermissionRepository", "InstallationItem", "PermissionItem"]


class ByInstallationIdIndex(GlobalSecondaryIndex["InstallationItem"]):
    class Meta:
        index_name = "by-installation-id"
        projection = AllProjection()

    installation_id = UnicodeAttribute(hash_key=True)


class ByPluginVersionIndex(GlobalSecondaryIndex["InstallationItem"]):
    """Installations of one plugin version in every workspace (yanks).

    Keys only: installs and config changes rewrite the item often and yanks are rare, so the index is
    written only when an installation is created, removed or moves to another version.
    """

    class Meta:
        index_name = "by-plugin-version"
        projection = KeysOnlyProjection()

    plugin_id = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)


class InstallationItem(DocItem):
    class Meta(TableMeta):
        purpose = "installations"

    workspace_id = UnicodeAttribute(hash_key=True)
    plugin_id = UnicodeAttribute(range_key=True)
    installation_id = UnicodeAttribute()
    version = UnicodeAttribute(null=True)
    by_installation_id = ByInstallationIdIndex()
    by_plugin_version = ByPluginVersionIndex()


class PermissionItem(Model):
    class Meta(TableMeta):
        purpose = "plugin-permissions"

    installation_id = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute(range_key=True)
    granted_by = UnicodeAttribute()
    granted_at = UnicodeAttribute()
    version = UnicodeAttribute()


class DynamoInstallationRepository:
    def get(self, workspace_id: str, plugin_id: str) -> Installation | None:
        with Translate():
            item = get_or_none(InstallationItem, workspace_id, plugin_id)
        return item.load(Installation) if item else None

    def get_by_id(self, workspace_id: str, installation_id: str) -> Installation | None:
        with Translate():
            for item in InstallationItem.by_installation_id.query(installation_id):
                inst = item.load(Installation)
                # The index spans workspaces: never return another workspace's installation.
                if inst.workspace_id == workspace_id:
                    return inst
        return None

    def get_many(self, keys: builtins.list[tuple[str, str]]) -> builtins.list[Installation]:
        # BatchGetItem, 100 keys a request (PynamoDB pages and retries unprocessed keys).
        with Translate():
            unique = sorted(set(keys))
            return (
                [i.load(Installation) for i in InstallationItem.batch_get(unique, consistent_read=True)]
                if unique
                else []
            )

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Installation], str | None]:
        with Translate():
            it = InstallationItem.query(workspace_id, limit=limit, last_evaluated_key=page_start(token))
            items = [i.load(Installation) for i in it]
            lek = it.last_evaluated_key
        return items, page_token(lek) if len(items) == limit else None

    def create(self, installation: Installation) -> None:
        try:
            self._item(installation).save(condition=InstallationItem.workspace_id.does_not_exist())
        except PutError as exc:
            if is_conditional(exc):
                raise ConflictError(
                    f"'{installation.plugin_id}' is already installed in this workspace.",
                    plugin_id=installation.plugin_id,
                ) from exc
            raise

    def put(self, installation: Installation) -> None:
        self._item(installation).save()

    def delete(self, installation: Installation) -> None:
        InstallationItem(installation.workspace_id, installation.plugin_id).delete()

    def list_on_version(self, plugin_id: str, version: str) -> builtins.list[Installation]:
        # The keys-only index names them; the documents come in batches of 100 GetItems.
        with Translate():
            keys = [
                (i.workspace_id, i.plugin_id)
                for i in InstallationItem.by_plugin_version.query(plugin_id, InstallationItem.version == version)
            ]
            found = [i.load(Installation) for i in InstallationItem.batch_get(keys)] if keys else []
        # An installation moved to another version between the two reads is not on this one any more.
        return sorted((i for i in found if i.version == version), key=lambda i: (i.workspace_id, i.plugin_id))

    @staticmethod
    def _item(inst: Installation) -> InstallationItem:
        # The secret config ciphertext is excluded from API output but must be stored.
        doc = json.dumps({**inst.model_dump(mode="json"), "secret_config_ciphertext": inst.secret_config_ciphertext})
        return InstallationItem(
            inst.workspace_id, inst.plugin_id, installation_id=inst.installation_id, version=inst.version, doc=doc
        )


class DynamoPermissionRepository:
    def grant(self, installation_id: str, scopes: list[str], *, by: str, version: str, at: datetime) -> None:
        with PermissionItem.batch_write() as batch:
            for scope in scopes:
                batch.save(
                    PermissionItem(installation_id, scope, granted_by=by, granted_at=at.isoformat(), version=version)
                )

    def list(self, installation_id: str) -> list[str]:
        with Translate():
            return [i.scope for i in PermissionItem.query(installation_id)]

    def revoke_all(self, installation_id: str) -> None:
        with PermissionItem.batch_write() as batch:
            for item in PermissionItem.query(installation_id):
                batch.delete(item)
