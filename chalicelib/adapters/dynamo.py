"""PynamoDB repositories: one table per aggregate, the document kept as JSON beside its keys.

The ``…Item`` models never leave this module; repositories speak domain objects.
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError, PynamoDBConnectionError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import Settings
from chalicelib.domain.deliveries import Delivery, DeliveryStatus
from chalicelib.domain.errors import ConflictError, DependencyUnavailableError, InvalidRequestError
from chalicelib.domain.models import (
    ApiKey,
    AuditRecord,
    Installation,
    Plugin,
    PluginVersion,
    Publisher,
    Webhook,
    Workspace,
)
from chalicelib.domain.pagination import decode_token, encode_token

__all__ = [
    "DynamoApiKeyRepository",
    "DynamoAuditRepository",
    "DynamoDeliveryRepository",
    "DynamoGenerationStore",
    "DynamoInstallationRepository",
    "DynamoPermissionRepository",
    "DynamoPluginRepository",
    "DynamoPublisherRepository",
    "DynamoVersionRepository",
    "DynamoWebhookRepository",
    "DynamoWorkspaceRepository",
    "bind_tables",
]

M = TypeVar("M", bound=BaseModel)


class _Meta:
    table_name = ""
    region = "us-east-1"
    host: str | None = None


class _Item(Model):
    """Common shape: keys, a few query attributes, and ``doc`` (the domain object as JSON)."""

    doc = UnicodeAttribute()

    def load(self, cls: type[M]) -> M:
        # Stored documents were fully validated when written; skip the costly checks (JSON Schema meta-validation).
        return cls.model_validate_json(self.doc, context=STORED)


class WorkspaceItem(_Item):
    class Meta(_Meta):
        purpose = "workspaces"

    workspace_id = UnicodeAttribute(hash_key=True)


class ByWorkspaceIndex(GlobalSecondaryIndex["ApiKeyItem"]):
    class Meta:
        index_name = "by-workspace"
        projection = AllProjection()

    workspace_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)


class ApiKeyItem(_Item):
    class Meta(_Meta):
        purpose = "api-keys"

    key_hash = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute()
    key_id = UnicodeAttribute()
    by_workspace = ByWorkspaceIndex()


class PluginItem(_Item):
    class Meta(_Meta):
        purpose = "plugins"

    plugin_id = UnicodeAttribute(hash_key=True)
    search_text = UnicodeAttribute()
    categories = UnicodeSetAttribute(null=True)
    install_count = NumberAttribute(default=0)


class ByDigestIndex(GlobalSecondaryIndex["VersionItem"]):
    class Meta:
        index_name = "by-digest"
        projection = AllProjection()

    artifact_sha256 = UnicodeAttribute(hash_key=True)


class VersionItem(_Item):
    class Meta(_Meta):
        purpose = "plugin-versions"

    plugin_id = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)
    artifact_sha256 = UnicodeAttribute()
    state = UnicodeAttribute(null=True)
    by_digest = ByDigestIndex()


class ByInstallationIdIndex(GlobalSecondaryIndex["InstallationItem"]):
    class Meta:
        index_name = "by-installation-id"
        projection = AllProjection()

    installation_id = UnicodeAttribute(hash_key=True)


class InstallationItem(_Item):
    class Meta(_Meta):
        purpose = "installations"

    workspace_id = UnicodeAttribute(hash_key=True)
    plugin_id = UnicodeAttribute(range_key=True)
    installation_id = UnicodeAttribute()
    version = UnicodeAttribute(null=True)
    by_installation_id = ByInstallationIdIndex()


class PermissionItem(Model):
    class Meta(_Meta):
        purpose = "plugin-permissions"

    installation_id = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute(range_key=True)
    granted_by = UnicodeAttribute()
    granted_at = UnicodeAttribute()
    version = UnicodeAttribute()


class WebhookItem(_Item):
    class Meta(_Meta):
        purpose = "webhooks"

    workspace_id = UnicodeAttribute(hash_key=True)
    webhook_id = UnicodeAttribute(range_key=True)


class AuditItem(_Item):
    class Meta(_Meta):
        purpose = "audit-log"

    workspace_id = UnicodeAttribute(hash_key=True)
    seq = UnicodeAttribute(range_key=True)
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    target = UnicodeAttribute()
    time = UnicodeAttribute(null=True)


class MetaItem(Model):
    """Small platform records: publisher profiles, cache generation counters."""

    class Meta(_Meta):
        purpose = "meta"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute(null=True)
    gen = NumberAttribute(null=True)


class DeliveryItem(_Item):
    class Meta(_Meta):
        purpose = "deliveries"

    webhook_id = UnicodeAttribute(hash_key=True)
    delivery_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    version = NumberAttribute()
    expires_at = NumberAttribute()  # the table's TTL attribute (epoch seconds)


ALL_MODELS: tuple[type[Model], ...] = (
    MetaItem,
    WorkspaceItem,
    ApiKeyItem,
    PluginItem,
    VersionItem,
    InstallationItem,
    PermissionItem,
    WebhookItem,
    AuditItem,
    DeliveryItem,
)


def bind_tables(settings: Settings, table_names: dict[str, str] | None = None) -> None:
    """Point every model of this module at its table (``plugyard-<stage>-<purpose>``) and endpoint."""
    bind_models(ALL_MODELS, settings, table_names)


def bind_models(models: tuple[type[Model], ...], settings: Settings, table_names: dict[str, str] | None = None) -> None:
    """Point models at their tables (``plugyard-<stage>-<purpose>``) and endpoint, once per process."""
    for model in models:
        meta: Any = model.Meta
        meta.table_name = (table_names or {}).get(meta.purpose) or settings.table_name(meta.purpose)
        meta.region = settings.region
        meta.host = settings.aws_endpoint_url
        if settings.aws_endpoint_url:
            # The local AWS needs some credentials; real ones come from the environment on AWS.
            meta.aws_access_key_id = "testing"
            meta.aws_secret_access_key = "testing"
        # Re-create the connection so a rebind (tests) takes effect.
        model._connection = None
        for index in getattr(model, "_indexes", {}).values():
            index.Meta.model = model


def _token(lek: dict[str, dict[str, Any]] | None) -> str | None:
    return encode_token({k: str(next(iter(v.values()))) for k, v in lek.items()} if lek else None)


def _start(token: str | None) -> dict[str, dict[str, Any]] | None:
    pos = decode_token(token)
    return {k: {"S": v} for k, v in pos.items()} if pos else None


ItemT = TypeVar("ItemT", bound=Model)


def _get_or_none(model: type[ItemT], hash_key: str, range_key: str | None = None) -> ItemT | None:
    try:
        return model.get(hash_key, range_key)
    except model.DoesNotExist:
        return None


STORED = {"stored": True}


def _audit_head(workspace_id: str) -> str:
    return f"audithead#{workspace_id}"


def _dump(obj: BaseModel) -> str:
    return obj.model_dump_json()


class _Translate:
    """Turns a connection failure into DependencyUnavailableError (a 503, not a stack trace)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if not isinstance(exc, PynamoDBConnectionError):
            return
        code = getattr(exc, "cause_response_code", None)
        if code == "ValidationException":
            # Reads only take caller input through pagination tokens.
            raise InvalidRequestError("next_token does not belong to this listing.") from exc
        if code is None:
            raise DependencyUnavailableError("The database is unreachable; retry shortly.") from exc


def _is_conditional(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


class DynamoWorkspaceRepository:
    def get(self, workspace_id: str) -> Workspace | None:
        with _Translate():
            item = _get_or_none(WorkspaceItem, workspace_id)
        return item.load(Workspace) if item else None

    def put(self, workspace: Workspace) -> None:
        WorkspaceItem(workspace.workspace_id, doc=_dump(workspace)).save()


class DynamoApiKeyRepository:
    def get_by_hash(self, key_hash: str) -> ApiKey | None:
        with _Translate():
            item = _get_or_none(ApiKeyItem, key_hash)
        return item.load(ApiKey) if item else None

    def put(self, key: ApiKey) -> None:
        ApiKeyItem(key.key_hash, workspace_id=key.workspace_id, key_id=key.key_id, doc=_dump(key)).save()

    def list_for_workspace(self, workspace_id: str) -> list[ApiKey]:
        return [i.load(ApiKey) for i in ApiKeyItem.by_workspace.query(workspace_id)]

    def delete(self, key: ApiKey) -> None:
        ApiKeyItem(key.key_hash).delete()


class DynamoPluginRepository:
    def get(self, plugin_id: str) -> Plugin | None:
        with _Translate():
            item = _get_or_none(PluginItem, plugin_id)
        if item is None:
            return None
        plugin = item.load(Plugin)
        plugin.install_count = int(item.install_count or 0)
        return plugin

    def put(self, plugin: Plugin) -> None:
        item = PluginItem(
            plugin.plugin_id,
            search_text=" ".join([plugin.plugin_id, plugin.name, plugin.description, plugin.publisher]).lower(),
            categories=set(plugin.categories) or None,
            doc=_dump(plugin),
        )
        # install_count is owned by add_installs (atomic counter); keep it out of the overwrite.
        with _Translate():
            item.update(
                actions=[
                    PluginItem.search_text.set(item.search_text),
                    PluginItem.categories.set(item.categories) if item.categories else PluginItem.categories.remove(),
                    PluginItem.doc.set(item.doc),
                ]
            )

    def search(
        self, *, query: str | None, category: str | None, limit: int, token: str | None
    ) -> tuple[list[Plugin], str | None]:
        cond = None
        if query:
            cond = PluginItem.search_text.contains(query)
        if category:
            by_cat = PluginItem.categories.contains(category)
            cond = by_cat if cond is None else cond & by_cat
        with _Translate():
            it = PluginItem.scan(cond, limit=limit, last_evaluated_key=_start(token), page_size=max(limit, 100))
            items = []
            for item in it:
                plugin = item.load(Plugin)
                plugin.install_count = int(item.install_count or 0)
                items.append(plugin)
            lek = it.last_evaluated_key
        return items, _token(lek) if len(items) == limit else None

    def add_installs(self, plugin_id: str, delta: int) -> None:
        PluginItem(plugin_id).update(actions=[PluginItem.install_count.add(delta)])


class DynamoVersionRepository:
    def get(self, plugin_id: str, version: str) -> PluginVersion | None:
        with _Translate():
            item = _get_or_none(VersionItem, plugin_id, version)
        return item.load(PluginVersion) if item else None

    def list_versions(self, plugin_id: str) -> list[PluginVersion]:
        with _Translate():
            return [i.load(PluginVersion) for i in VersionItem.query(plugin_id)]

    def list_pending(self) -> list[PluginVersion]:
        with _Translate():
            return [i.load(PluginVersion) for i in VersionItem.scan(VersionItem.state == "pending")]

    def update(self, version: PluginVersion) -> None:
        """Store a changed review/deprecation state; the artifact and manifest never change."""
        self._item(version).save(condition=VersionItem.artifact_sha256 == version.artifact_sha256)

    @staticmethod
    def _item(version: PluginVersion) -> VersionItem:
        return VersionItem(
            version.plugin_id,
            version.version,
            artifact_sha256=version.artifact_sha256,
            state=version.state,
            doc=_dump(version),
        )

    def create(self, version: PluginVersion) -> None:
        item = self._item(version)
        try:
            item.save(condition=VersionItem.plugin_id.does_not_exist())
        except PutError as exc:
            if _is_conditional(exc):
                raise ConflictError(
                    f"{version.plugin_id}@{version.version} already exists.",
                    plugin_id=version.plugin_id,
                    version=version.version,
                ) from exc
            raise

    def find_by_digest(self, sha256: str) -> list[PluginVersion]:
        with _Translate():
            return [i.load(PluginVersion) for i in VersionItem.by_digest.query(sha256)]


class DynamoInstallationRepository:
    def get(self, workspace_id: str, plugin_id: str) -> Installation | None:
        with _Translate():
            item = _get_or_none(InstallationItem, workspace_id, plugin_id)
        return item.load(Installation) if item else None

    def get_by_id(self, workspace_id: str, installation_id: str) -> Installation | None:
        with _Translate():
            for item in InstallationItem.by_installation_id.query(installation_id):
                inst = item.load(Installation)
                # The index spans workspaces: never return another workspace's installation.
                if inst.workspace_id == workspace_id:
                    return inst
        return None

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Installation], str | None]:
        with _Translate():
            it = InstallationItem.query(workspace_id, limit=limit, last_evaluated_key=_start(token))
            items = [i.load(Installation) for i in it]
            lek = it.last_evaluated_key
        return items, _token(lek) if len(items) == limit else None

    def create(self, installation: Installation) -> None:
        try:
            self._item(installation).save(condition=InstallationItem.workspace_id.does_not_exist())
        except PutError as exc:
            if _is_conditional(exc):
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
        # Across workspaces, for yanks: rare enough that a filtered scan beats another index.
        cond = (InstallationItem.plugin_id == plugin_id) & (InstallationItem.version == version)
        with _Translate():
            return [i.load(Installation) for i in InstallationItem.scan(cond)]

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
        with _Translate():
            return [i.scope for i in PermissionItem.query(installation_id)]

    def revoke_all(self, installation_id: str) -> None:
        with PermissionItem.batch_write() as batch:
            for item in PermissionItem.query(installation_id):
                batch.delete(item)


class DynamoWebhookRepository:
    def put(self, webhook: Webhook) -> None:
        WebhookItem(webhook.workspace_id, webhook.webhook_id, doc=_dump(webhook)).save()

    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        with _Translate():
            item = _get_or_none(WebhookItem, workspace_id, webhook_id)
        return item.load(Webhook) if item else None

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Webhook], str | None]:
        with _Translate():
            it = WebhookItem.query(workspace_id, limit=limit, last_evaluated_key=_start(token))
            items = [i.load(Webhook) for i in it]
            lek = it.last_evaluated_key
        return items, _token(lek) if len(items) == limit else None

    def delete(self, workspace_id: str, webhook_id: str) -> None:
        WebhookItem(workspace_id, webhook_id).delete()


class DynamoAuditRepository:
    """The chain's records, plus a head item per workspace (meta table) pointing at the newest one.

    A record's conditional put is what claims its position; the head only speeds up finding the tail (one
    GetItem instead of a Query, which moto runs in time linear in the table). The head moves forward only,
    so a head left behind by a crash is repaired by the next append, which finds the true tail by Query
    after its first conflict (``tail``).
    """

    def append(self, record: AuditRecord) -> None:
        item = AuditItem(
            record.workspace_id,
            record.seq,
            action=record.action,
            actor=record.actor,
            target=record.target,
            time=record.time.isoformat(),
            doc=_dump(record),
        )
        try:
            item.save(condition=AuditItem.seq.does_not_exist())
        except PutError as exc:
            if _is_conditional(exc):
                raise ConflictError(f"audit seq {record.seq} is taken") from exc
            raise
        seq = int(record.seq)
        head = MetaItem(_audit_head(record.workspace_id), "head")
        try:
            head.update(
                actions=[MetaItem.gen.set(seq), MetaItem.doc.set(item.doc)],
                condition=MetaItem.gen.does_not_exist() | (MetaItem.gen < seq),
            )
        except UpdateError as exc:
            if not _is_conditional(exc):
                raise  # a newer head is already there: nothing to do

    def latest(self, workspace_id: str) -> AuditRecord | None:
        with _Translate():
            head = _get_or_none(MetaItem, _audit_head(workspace_id), "head")
        if head is not None and head.doc:
            return AuditRecord.model_validate_json(head.doc, context=STORED)
        return self.tail(workspace_id)  # no head yet (or a chain older than heads)

    def tail(self, workspace_id: str) -> AuditRecord | None:
        with _Translate():
            for item in AuditItem.query(workspace_id, scan_index_forward=False, limit=1, consistent_read=True):
                return item.load(AuditRecord)
        return None

    def query(
        self,
        workspace_id: str,
        *,
        action: str | None,
        actor: str | None,
        target: str | None,
        limit: int,
        token: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        oldest_first: bool = False,
    ) -> tuple[list[AuditRecord], str | None]:
        cond = None
        for attr, value in ((AuditItem.action, action), (AuditItem.actor, actor), (AuditItem.target, target)):
            if value:
                cond = attr == value if cond is None else cond & (attr == value)
        # ISO-8601 UTC strings of one format compare in time order.
        if since is not None:
            c = AuditItem.time >= since.isoformat()
            cond = c if cond is None else cond & c
        if until is not None:
            c = AuditItem.time <= until.isoformat()
            cond = c if cond is None else cond & c
        with _Translate():
            it = AuditItem.query(
                workspace_id,
                filter_condition=cond,
                scan_index_forward=oldest_first,
                limit=limit,
                page_size=max(limit, 100),
                last_evaluated_key=_start(token),
            )
            items = [i.load(AuditRecord) for i in it]
            lek = it.last_evaluated_key
        return items, _token(lek) if len(items) == limit else None


class DynamoPublisherRepository:
    def get(self, publisher_id: str) -> Publisher | None:
        with _Translate():
            item = _get_or_none(MetaItem, f"publisher#{publisher_id}", "profile")
        return Publisher.model_validate_json(item.doc) if item and item.doc else None

    def put(self, publisher: Publisher) -> None:
        MetaItem(f"publisher#{publisher.publisher_id}", "profile", doc=_dump(publisher)).save()


class DynamoGenerationStore:
    """Cross-process cache generations: one atomic counter per name in the meta table."""

    def get(self, name: str) -> int:
        with _Translate():
            item = _get_or_none(MetaItem, f"cache#{name}", "generation")
        return int(item.gen or 0) if item else 0

    def bump(self, name: str) -> int:
        item = MetaItem(f"cache#{name}", "generation")
        with _Translate():
            item.update(actions=[MetaItem.gen.add(1)])
        return int(item.gen or 0)


class DynamoDeliveryRepository:
    """Deliveries with an optimistic lock on ``version``: two workers never both record an attempt."""

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        with _Translate():
            item = _get_or_none(DeliveryItem, webhook_id, delivery_id)
        return self._load(item) if item else None

    def create(self, delivery: Delivery) -> bool:
        delivery.version = 1
        try:
            self._item(delivery).save(condition=DeliveryItem.webhook_id.does_not_exist())
        except PutError as exc:
            if _is_conditional(exc):
                delivery.version = 0
                return False
            raise
        return True

    def save(self, delivery: Delivery) -> bool:
        expected = delivery.version
        delivery.version = expected + 1
        try:
            self._item(delivery).save(condition=DeliveryItem.version == expected)
        except PutError as exc:
            delivery.version = expected
            if _is_conditional(exc):
                return False
            raise
        return True

    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        since_id: str | None,
        limit: int,
        token: str | None,
        newest_first: bool = True,
    ) -> tuple[builtins.list[Delivery], str | None]:
        with _Translate():
            it = DeliveryItem.query(
                webhook_id,
                range_key_condition=DeliveryItem.delivery_id >= since_id if since_id else None,
                filter_condition=DeliveryItem.status == status if status else None,
                scan_index_forward=not newest_first,
                limit=limit,
                page_size=max(limit, 100),
                last_evaluated_key=_start(token),
            )
            items = [self._load(i) for i in it]
            lek = it.last_evaluated_key
        return items, _token(lek) if len(items) == limit else None

    @staticmethod
    def _load(item: DeliveryItem) -> Delivery:
        delivery = item.load(Delivery)
        delivery.version = int(item.version)
        return delivery

    @staticmethod
    def _item(d: Delivery) -> DeliveryItem:
        return DeliveryItem(
            d.webhook_id,
            d.delivery_id,
            status=d.status,
            version=d.version,
            expires_at=int(d.expires_at.timestamp()),
            doc=_dump(d),
        )
