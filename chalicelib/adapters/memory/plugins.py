"""The marketplace: plugins (with install counts), their versions, publishers."""

from __future__ import annotations

import threading

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.errors import ConflictError, PublisherTakenError
from chalicelib.domain.models import Plugin, PluginVersion, Publisher
from chalicelib.ports import GenerationStore

__all__ = ["InMemoryPluginRepository", "InMemoryPublisherRepository", "InMemoryVersionRepository"]


class InMemoryPluginRepository:
    def __init__(self, generations: GenerationStore) -> None:
        self._generations = generations  # the counters get_at_generation reads (the catalog cache's)
        self.items: dict[str, Plugin] = {}
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, plugin_id: str) -> Plugin | None:
        p = self.items.get(plugin_id)
        return p.model_copy(update={"install_count": self.counts.get(plugin_id, 0)}) if p else None

    def get_at_generation(self, plugin_id: str, generation: str) -> tuple[Plugin | None, int]:
        return self.get(plugin_id), self._generations.get(generation)

    def put(self, plugin: Plugin) -> None:
        self.items[plugin.plugin_id] = plugin

    def search(
        self, *, query: str | None, category: str | None, limit: int, token: str | None
    ) -> tuple[list[Plugin], str | None]:
        def match(p: Plugin) -> bool:
            text = " ".join([p.plugin_id, p.name, p.description, p.publisher]).lower()
            return (not query or query in text) and (not category or category in p.categories)

        found = [self.get(pid) for pid in sorted(self.items) if match(self.items[pid])]
        return page([p for p in found if p], lambda p: {"plugin_id": p.plugin_id}, limit, token)

    def add_installs(self, plugin_id: str, delta: int) -> None:
        with self._lock:  # an atomic ADD, like the DynamoDB twin
            self.counts[plugin_id] = self.counts.get(plugin_id, 0) + delta


class InMemoryVersionRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], PluginVersion] = {}

    def get(self, plugin_id: str, version: str) -> PluginVersion | None:
        return self.items.get((plugin_id, version))

    def list_versions(self, plugin_id: str) -> list[PluginVersion]:
        return [v for (pid, _), v in sorted(self.items.items()) if pid == plugin_id]

    def create(self, version: PluginVersion) -> None:
        key = (version.plugin_id, version.version)
        if key in self.items:
            raise ConflictError(f"{version.plugin_id}@{version.version} already exists.")
        self.items[key] = version

    def find_by_digest(self, sha256: str) -> list[PluginVersion]:
        return [v for v in self.items.values() if v.artifact_sha256 == sha256]

    def list_pending(self) -> list[PluginVersion]:
        return [v for v in self.items.values() if v.state == "pending"]

    def update(self, version: PluginVersion) -> None:
        self.items[(version.plugin_id, version.version)] = version

    def put_development(self, version: PluginVersion) -> None:
        if version.state != "development":
            raise ValueError("only development versions are replaced in place")
        self.items[(version.plugin_id, version.version)] = version

    def delete(self, plugin_id: str, version: str) -> None:
        self.items.pop((plugin_id, version), None)


class InMemoryPublisherRepository:
    def __init__(self) -> None:
        self.items: dict[str, Publisher] = {}

    def get(self, publisher_id: str) -> Publisher | None:
        return self.items.get(publisher_id)

    def put(self, publisher: Publisher) -> None:
        self.items[publisher.publisher_id] = publisher

    def create(self, publisher: Publisher) -> None:
        if self.items.setdefault(publisher.publisher_id, publisher) is not publisher:
            raise PublisherTakenError(
                f"The publisher id '{publisher.publisher_id}' is taken.", publisher_id=publisher.publisher_id
            )
