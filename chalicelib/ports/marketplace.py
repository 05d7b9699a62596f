"""Plugins, their versions and publishers, and the store of their artifacts."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.models import Plugin, PluginVersion, Publisher
from chalicelib.domain.stats import VersionCounters
from chalicelib.ports.platform import Page

__all__ = ["ArtifactStore", "PluginRepository", "PluginStatsRepository", "PublisherRepository", "VersionRepository"]


class PluginRepository(Protocol):
    def get(self, plugin_id: str) -> Plugin | None: ...
    def get_at_generation(self, plugin_id: str, generation: str) -> tuple[Plugin | None, int]:
        """The plugin and the cache generation counter ``generation`` (``GenerationStore``), in one read."""
        ...

    def put(self, plugin: Plugin) -> None: ...
    def search(self, *, query: str | None, category: str | None, limit: int, token: str | None) -> Page[Plugin]: ...
    def add_installs(self, plugin_id: str, delta: int) -> None: ...


class VersionRepository(Protocol):
    def get(self, plugin_id: str, version: str) -> PluginVersion | None: ...
    def list_versions(self, plugin_id: str) -> list[PluginVersion]: ...
    def create(self, version: PluginVersion) -> None:
        """Store a new version; ConflictError if it exists (versions are immutable)."""
        ...

    def find_by_digest(self, sha256: str) -> list[PluginVersion]: ...
    def list_pending(self) -> list[PluginVersion]: ...
    def update(self, version: PluginVersion) -> None:
        """Store changed review or deprecation state of an existing version."""
        ...

    def put_development(self, version: PluginVersion) -> None:
        """Create or replace a ``development`` version (the one kind whose artifact may change)."""
        ...

    def delete(self, plugin_id: str, version: str) -> None:
        """Forget a version (development versions, when their installation goes)."""
        ...


class ArtifactStore(Protocol):
    def upload_prefix(self) -> str:
        """How every URL presign_put gives begins (scheme, host, bucket path): what a browser may PUT to."""
        ...

    def presign_put(self, key: str, *, expires_s: int) -> tuple[str, dict[str, str]]: ...
    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        """The object's bytes, None if absent; InvalidArtifactError if larger than max_bytes."""
        ...

    def put(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


class PublisherRepository(Protocol):
    def get(self, publisher_id: str) -> Publisher | None: ...
    def put(self, publisher: Publisher) -> None: ...
    def create(self, publisher: Publisher) -> None:
        """Store a new profile; PublisherTakenError if the id exists (ids are unique platform-wide)."""
        ...


class PluginStatsRepository(Protocol):
    """Per-version counters, added to atomically where the counted thing is written."""

    def add(
        self,
        plugin_id: str,
        version: str,
        *,
        installs: int = 0,
        uninstalls: int = 0,
        invocations: int = 0,
        errors: int = 0,
        duration_ms: float | None = None,
    ) -> None: ...

    def for_plugin(self, plugin_id: str) -> list[VersionCounters]: ...
