"""The marketplace: plugins (with their atomic install counter), their versions, publishers."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.adapters.dynamo.base import (
    DocItem,
    MetaItem,
    TableMeta,
    Translate,
    dump,
    get_or_none,
    is_conditional,
    page_start,
    page_token,
)
from chalicelib.adapters.dynamo.generations import generation_key
from chalicelib.domain.errors import ConflictError, DependencyUnavailableError, PublisherTakenError
from chalicelib.domain.models import (
    Plugin,
    PluginVersion,
    Publisher,
)

__all__ = [
    "DynamoPluginRepository",
    "DynamoPublisherRepository",
    "DynamoVersionRepository",
    "PluginItem",
    "VersionItem",
]


class PluginItem(DocItem):
    class Meta(TableMeta):
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


class ByStateIndex(GlobalSecondaryIndex["VersionItem"]):
    """Versions by review state: the review queue is one Query on ``pending``."""

    class Meta:
        index_name = "by-state"
        projection = AllProjection()

    state = UnicodeAttribute(hash_key=True)


class VersionItem(DocItem):
    class Meta(TableMeta):
        purpose = "plugin-versions"

    plugin_id = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)
    artifact_sha256 = UnicodeAttribute()
    state = UnicodeAttribute(null=True)
    by_digest = ByDigestIndex()
    by_state = ByStateIndex()


class DynamoPluginRepository:
    def get(self, plugin_id: str) -> Plugin | None:
        with Translate():
            item = get_or_none(PluginItem, plugin_id)
        if item is None:
            return None
        plugin = item.load(Plugin)
        plugin.install_count = int(item.install_count or 0)
        return plugin

    def get_at_generation(self, plugin_id: str, generation: str) -> tuple[Plugin | None, int]:
        """The plugin and a cache generation counter, read in one BatchGetItem (eventually consistent, as ``get``)."""
        plugins, meta = PluginItem.Meta.table_name, MetaItem.Meta.table_name
        pk, sk = generation_key(generation)
        request: dict[str, Any] = {
            plugins: {"Keys": [{"plugin_id": {"S": plugin_id}}]},
            meta: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}}]},
        }
        found: dict[str, list[dict[str, Any]]] = {plugins: [], meta: []}
        client = PluginItem._get_connection().connection.client
        try:
            for _ in range(5):  # keys DynamoDB left unprocessed (throttling) are asked for again
                out = client.batch_get_item(RequestItems=request)
                for table, items in out.get("Responses", {}).items():
                    found[table].extend(items)
                request = out.get("UnprocessedKeys") or {}
                if not request:
                    break
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailableError("The database is unreachable; retry shortly.") from exc
        if request:
            raise DependencyUnavailableError("The database is busy; retry shortly.")
        plugin = None
        if found[plugins]:
            item = PluginItem.from_raw_data(found[plugins][0])
            plugin = item.load(Plugin)
            plugin.install_count = int(item.install_count or 0)
        counter = MetaItem.from_raw_data(found[meta][0]) if found[meta] else None
        return plugin, int(counter.gen or 0) if counter else 0

    def put(self, plugin: Plugin) -> None:
        item = PluginItem(
            plugin.plugin_id,
            search_text=" ".join([plugin.plugin_id, plugin.name, plugin.description, plugin.publisher]).lower(),
            categories=set(plugin.categories) or None,
            doc=dump(plugin),
        )
        # install_count is owned by add_installs (atomic counter); keep it out of the overwrite.
        with Translate():
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
        with Translate():
            it = PluginItem.scan(cond, limit=limit, last_evaluated_key=page_start(token), page_size=max(limit, 100))
            items = []
            for item in it:
                plugin = item.load(Plugin)
                plugin.install_count = int(item.install_count or 0)
                items.append(plugin)
            lek = it.last_evaluated_key
        return items, page_token(lek) if len(items) == limit else None

    def add_installs(self, plugin_id: str, delta: int) -> None:
        PluginItem(plugin_id).update(actions=[PluginItem.install_count.add(delta)])


class DynamoVersionRepository:
    def get(self, plugin_id: str, version: str) -> PluginVersion | None:
        with Translate():
            item = get_or_none(VersionItem, plugin_id, version)
        return item.load(PluginVersion) if item else None

    def list_versions(self, plugin_id: str) -> list[PluginVersion]:
        with Translate():
            return [i.load(PluginVersion) for i in VersionItem.query(plugin_id)]

    def list_pending(self) -> list[PluginVersion]:
        with Translate():
            return [i.load(PluginVersion) for i in VersionItem.by_state.query("pending")]

    def update(self, version: PluginVersion) -> None:
        """Store a changed review/deprecation state; the artifact and manifest never change."""
        self._item(version).save(condition=VersionItem.artifact_sha256 == version.artifact_sha256)

    def put_development(self, version: PluginVersion) -> None:
        if version.state != "development":
            raise ValueError("only development versions are replaced in place")
        with Translate():
            self._item(version).save()

    def delete(self, plugin_id: str, version: str) -> None:
        with Translate():
            VersionItem(plugin_id, version).delete()

    @staticmethod
    def _item(version: PluginVersion) -> VersionItem:
        return VersionItem(
            version.plugin_id,
            version.version,
            artifact_sha256=version.artifact_sha256,
            state=version.state,
            doc=dump(version),
        )

    def create(self, version: PluginVersion) -> None:
        item = self._item(version)
        try:
            item.save(condition=VersionItem.plugin_id.does_not_exist())
        except PutError as exc:
            if is_conditional(exc):
                raise ConflictError(
                    f"{version.plugin_id}@{version.version} already exists.",
                    plugin_id=version.plugin_id,
                    version=version.version,
                ) from exc
            raise

    def find_by_digest(self, sha256: str) -> list[PluginVersion]:
        with Translate():
            return [i.load(PluginVersion) for i in VersionItem.by_digest.query(sha256)]


class DynamoPublisherRepository:
    def get(self, publisher_id: str) -> Publisher | None:
        with Translate():
            item = get_or_none(MetaItem, f"publisher#{publisher_id}", "profile")
        return Publisher.model_validate_json(item.doc) if item and item.doc else None

    def put(self, publisher: Publisher) -> None:
        MetaItem(f"publisher#{publisher.publisher_id}", "profile", doc=dump(publisher)).save()

    def create(self, publisher: Publisher) -> None:
        item = MetaItem(f"publisher#{publisher.publisher_id}", "profile", doc=dump(publisher))
        try:
            item.save(condition=MetaItem.pk.does_not_exist())
        except PutError as exc:
            if is_conditional(exc):
                raise PublisherTakenError(
                    f"The publisher id '{publisher.publisher_id}' is taken.", publisher_id=publisher.publisher_id
                ) from exc
            raise
