"""Publishing plugin versions and browsing the marketplace."""

from __future__ import annotations

from datetime import timedelta

import semver

from chalicelib.domain.artifact import inspect_artifact
from chalicelib.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    PluginNotFoundError,
    PlugyardError,
    UploadNotFoundError,
)
from chalicelib.domain.manifest import CATEGORIES, PlatformCaps
from chalicelib.domain.models import (
    Caller,
    Plugin,
    PluginDetail,
    PluginPage,
    PluginSummary,
    PluginVersion,
    ScopeView,
    SubmitVersionRequest,
    UploadTicket,
    VersionView,
)
from chalicelib.domain.permissions import Action, describe_scope
from chalicelib.ports import ArtifactStore, Clock, IdGenerator, PluginRepository, VersionRepository
from chalicelib.services.audit import AuditService

__all__ = ["MarketplaceService", "artifact_key", "latest_installable"]

MAX_PAGE = 100


def artifact_key(sha256: str) -> str:
    """Content-addressed S3 key of an artifact."""
    return f"artifacts/sha256/{sha256}.zip"


def _upload_key(workspace_id: str, upload_id: str) -> str:
    return f"uploads/{workspace_id}/{upload_id}.zip"


def latest_installable(versions: list[PluginVersion], host_version: str) -> PluginVersion | None:
    """Highest installable version that supports the host."""
    ok = [v for v in versions if v.installable and v.manifest.supports_host(host_version)]
    return max(ok, key=lambda v: semver.Version.parse(v.version), default=None)


class MarketplaceService:
    """Publish flow (upload → submit) and the listing."""

    def __init__(
        self,
        plugins: PluginRepository,
        versions: VersionRepository,
        artifacts: ArtifactStore,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        *,
        caps: PlatformCaps,
        host_version: str,
        max_artifact_bytes: int,
        upload_ttl_s: int,
    ) -> None:
        self._plugins = plugins
        self._versions = versions
        self._artifacts = artifacts
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._caps = caps
        self._host_version = host_version
        self._max_artifact_bytes = max_artifact_bytes
        self._upload_ttl_s = upload_ttl_s

    # --- publishing ---------------------------------------------------------------------

    def request_upload(self, caller: Caller) -> UploadTicket:
        """A presigned PUT URL for one plugin zip, valid for a few minutes."""
        self._audit.authorize(caller, Action.PUBLISH, "plugin.upload")
        upload_id = self._ids.new_id()
        url, headers = self._artifacts.presign_put(
            _upload_key(caller.workspace_id, upload_id), expires_s=self._upload_ttl_s
        )
        return UploadTicket(
            upload_id=upload_id,
            url=url,
            headers=headers,
            expires_at=self._clock.now() + timedelta(seconds=self._upload_ttl_s),
            max_bytes=self._max_artifact_bytes,
        )

    def submit_version(self, caller: Caller, req: SubmitVersionRequest) -> PluginDetail:
        """Validate the uploaded zip and publish it as a new, immutable version."""
        self._audit.authorize(caller, Action.PUBLISH, "plugin.version.publish", req.upload_id)
        key = _upload_key(caller.workspace_id, req.upload_id)
        data = self._artifacts.read(key, max_bytes=self._max_artifact_bytes)
        if data is None:
            raise UploadNotFoundError(
                f"Nothing was uploaded under '{req.upload_id}' in this workspace (or it expired).",
                upload_id=req.upload_id,
            )
        try:
            version = self._publish(caller, data)
        except PlugyardError as exc:
            self._audit.record(
                caller.workspace_id, caller.actor, "plugin.version.publish", req.upload_id, "failed", reason=exc.code
            )
            raise
        self._artifacts.delete(key)
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            "plugin.version.publish",
            f"{version.plugin_id}@{version.version}",
            sha256=version.artifact_sha256,
        )
        return self.get_plugin(caller, version.plugin_id)

    def _publish(self, caller: Caller, data: bytes) -> PluginVersion:
        art = inspect_artifact(data, self._caps)
        m = art.manifest
        if caller.publisher_id is None:
            raise ForbiddenError("This workspace is not registered as a publisher.")
        if m.publisher != caller.publisher_id:
            raise ForbiddenError(
                f"The manifest names publisher '{m.publisher}', but this workspace publishes as "
                f"'{caller.publisher_id}'.",
                publisher=m.publisher,
            )
        plugin = self._plugins.get(m.id)
        if plugin is not None and plugin.owner_workspace_id != caller.workspace_id:
            raise ForbiddenError(f"Plugin id '{m.id}' belongs to another publisher.", plugin_id=m.id)
        if self._versions.get(m.id, m.version) is not None:
            raise ConflictError(
                f"{m.id}@{m.version} is already published; versions are immutable, bump the version.",
                plugin_id=m.id,
                version=m.version,
            )
        for other in self._versions.find_by_digest(art.sha256):
            raise ConflictError(
                f"This artifact is already published as {other.plugin_id}@{other.version}.",
                sha256=art.sha256,
            )
        now = self._clock.now()
        key = artifact_key(art.sha256)
        if not self._artifacts.exists(key):
            self._artifacts.put(key, data)
        version = PluginVersion(
            plugin_id=m.id,
            version=m.version,
            manifest=m,
            artifact_sha256=art.sha256,
            artifact_key=key,
            size_bytes=art.size_bytes,
            published_at=now,
            published_by=caller.actor,
        )
        self._versions.create(version)  # ConflictError when the version exists
        latest = latest_installable(self._versions.list_versions(m.id), self._host_version) or version
        base = plugin or Plugin(
            plugin_id=m.id,
            publisher=m.publisher,
            owner_workspace_id=caller.workspace_id,
            name=m.name,
            created_at=now,
            updated_at=now,
        )
        lm = latest.manifest
        self._plugins.put(
            base.model_copy(
                update={
                    "name": lm.name,
                    "description": lm.description,
                    "categories": lm.categories,
                    "permissions": lm.permissions,
                    "latest_version": latest.version,
                    "updated_at": now,
                }
            )
        )
        return version

    # --- browsing -----------------------------------------------------------------------

    def list_plugins(
        self,
        caller: Caller,
        *,
        query: str | None,
        category: str | None,
        limit: int,
        token: str | None,
    ) -> PluginPage:
        """One page of listed plugins, filtered by text and category."""
        self._audit.authorize(caller, Action.READ_MARKETPLACE)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequestError(f"limit must be between 1 and {MAX_PAGE}.", limit=limit)
        if category and category not in CATEGORIES:
            raise InvalidRequestError(f"Unknown category '{category}'.", categories=list(CATEGORIES))
        query = (query or "").strip().lower() or None
        items, next_token = self._plugins.search(query=query, category=category, limit=limit, token=token)
        return PluginPage(items=[_summary(p) for p in items if p.latest_version], next_token=next_token)

    def get_plugin(self, caller: Caller, plugin_id: str) -> PluginDetail:
        """A plugin with every version, newest first."""
        self._audit.authorize(caller, Action.READ_MARKETPLACE)
        plugin = self._plugins.get(plugin_id)
        if plugin is None:
            raise PluginNotFoundError(plugin_id)
        versions = sorted(
            self._versions.list_versions(plugin_id), key=lambda v: semver.Version.parse(v.version), reverse=True
        )
        return PluginDetail(**_summary(plugin).model_dump(), versions=[_version_view(v) for v in versions])

    def get_version(self, plugin_id: str, version: str | None) -> PluginVersion | None:
        """An exact version, or the latest installable one when ``version`` is None."""
        if version is None:
            return latest_installable(self._versions.list_versions(plugin_id), self._host_version)
        found = self._versions.get(plugin_id, version)
        if found is None or not found.installable or not found.manifest.supports_host(self._host_version):
            return None
        return found


def _summary(p: Plugin) -> PluginSummary:
    return PluginSummary(
        plugin_id=p.plugin_id,
        name=p.name,
        description=p.description,
        latest_version=p.latest_version,
        categories=p.categories,
        permissions=p.permissions,
        publisher=p.publisher,
        install_count=p.install_count,
        updated_at=p.updated_at,
    )


def _version_view(v: PluginVersion) -> VersionView:
    m = v.manifest
    return VersionView(
        version=v.version,
        state=v.state,
        published_at=v.published_at,
        artifact_sha256=v.artifact_sha256,
        size_bytes=v.size_bytes,
        permissions=[
            ScopeView(scope=s, description=describe_scope(s), note=m.permission_notes.get(s)) for s in m.permissions
        ],
        events=m.events,
        entrypoints=m.entrypoints,
        memory_mb=m.resources.memory_mb,
        timeout_s=m.resources.timeout_s,
        host_versions=m.host_versions,
        changelog=m.changelog,
        config_schema=m.config_schema,
    )
