"""Reviewer tools: the queue, and for one version its files, manifest, permission diff and upload scan report;
and the other side of review, a publisher's own plugins with every version's review and deployment state."""

from __future__ import annotations

import hashlib
import io
import zipfile

import semver

from chalicelib.domain.errors import (
    DependencyUnavailableError,
    PluginNotFoundError,
    PublisherNotFoundError,
    VersionNotFoundError,
)
from chalicelib.domain.models import (
    ArtifactFile,
    Caller,
    Plugin,
    PluginDetail,
    PluginVersion,
    ReviewItem,
    ReviewQueue,
    VersionReport,
)
from chalicelib.domain.models.review import PublisherPlugins
from chalicelib.domain.pagination import every_item
from chalicelib.domain.permissions import Action, Role
from chalicelib.domain.review import permission_diff, previous_release, scan_of
from chalicelib.ports import ArtifactStore, PluginRepository, VersionRepository
from chalicelib.services.audit import AuditService
from chalicelib.services.listing import summary_view, version_view
from chalicelib.services.publishers import PublisherService

__all__ = ["ReviewService"]


class ReviewService:
    """What reviewers read before they decide (the decisions themselves: MarketplaceService.review)."""

    def __init__(
        self,
        plugins: PluginRepository,
        versions: VersionRepository,
        artifacts: ArtifactStore,
        publishers: PublisherService,
        audit: AuditService,
        *,
        max_artifact_bytes: int,
    ) -> None:
        self._plugins = plugins
        self._versions = versions
        self._artifacts = artifacts
        self._publishers = publishers
        self._audit = audit
        self._max_artifact_bytes = max_artifact_bytes

    def queue(self, caller: Caller) -> ReviewQueue:
        """Versions waiting for a reviewer, oldest first, each with its scan outcome."""
        self._audit.authorize(caller, Action.REVIEW)
        pending = sorted(self._versions.list_pending(), key=lambda v: v.published_at)
        verified: dict[str, bool] = {}
        items = []
        for v in pending:
            publisher = v.manifest.publisher
            if publisher not in verified:
                verified[publisher] = self._publishers.is_verified(publisher)
            scan = scan_of(v)
            items.append(
                ReviewItem(
                    plugin_id=v.plugin_id,
                    version=v.version,
                    publisher=publisher,
                    publisher_verified=verified[publisher],
                    published_at=v.published_at,
                    permissions=v.manifest.permissions,
                    artifact_sha256=v.artifact_sha256,
                    size_bytes=v.size_bytes,
                    scan_status=scan.status,
                    scan_findings=len(scan.findings),
                )
            )
        return ReviewQueue(items=items)

    def report(self, caller: Caller, plugin_id: str, version: str) -> VersionReport:
        """Files, manifest, permission diff and scan of a version: for reviewers, and for its own publisher."""
        self._audit.authorize(caller, Action.READ_MARKETPLACE)
        plugin = self._plugins.get(plugin_id)
        # Another workspace's plugin is as invisible as a missing one.
        if plugin is None or (caller.role != Role.REVIEWER and plugin.owner_workspace_id != caller.workspace_id):
            raise PluginNotFoundError(plugin_id)
        versions = self._versions.list_versions(plugin_id)
        # A development upload is its workspace's own, never reviewed: it has no report.
        found = next((v for v in versions if v.version == version and v.state != "development"), None)
        if found is None:
            raise VersionNotFoundError(plugin_id, version)
        return VersionReport(
            plugin_id=plugin_id,
            version=version,
            state=found.state,
            publisher=found.manifest.publisher,
            publisher_verified=self._publishers.is_verified(found.manifest.publisher),
            artifact_sha256=found.artifact_sha256,
            size_bytes=found.size_bytes,
            manifest=found.manifest.model_dump(mode="json"),
            files=self._files(found),
            diff=permission_diff(found.manifest, previous_release(versions, version)),
            scan=scan_of(found),
        )

    def publisher_plugins(self, caller: Caller) -> PublisherPlugins:
        """Every plugin the caller's workspace publishes, with all its versions (pending, rejected and yanked too)."""
        self._audit.authorize(caller, Action.PUBLISH)
        publisher_id = self._publishers.publisher_of(caller)
        if publisher_id is None:
            raise PublisherNotFoundError(
                "This workspace has no publisher yet; an admin creates one with POST /api/publishers."
            )
        verified = self._publishers.is_verified(publisher_id)
        return PublisherPlugins(
            publisher_id=publisher_id,
            items=[self._detail(p, verified) for p in self._owned(caller.workspace_id, publisher_id)],
        )

    def _owned(self, workspace_id: str, publisher_id: str) -> list[Plugin]:
        # The search text holds the publisher id, so the scan's filter keeps the read to near this publisher's
        # plugins; ownership is the workspace's, checked on each record.
        pages = every_item(
            lambda token: self._plugins.search(query=publisher_id, category=None, limit=100, token=token)
        )
        return sorted((p for p in pages if p.owner_workspace_id == workspace_id), key=lambda p: p.plugin_id)

    def _detail(self, plugin: Plugin, verified: bool) -> PluginDetail:
        versions = sorted(
            (v for v in self._versions.list_versions(plugin.plugin_id) if v.state != "development"),
            key=lambda v: semver.Version.parse(v.version),
            reverse=True,
        )
        views = [version_view(v).model_copy(update={"scan_status": scan_of(v).status}) for v in versions]
        return PluginDetail(**summary_view(plugin, publisher_verified=verified).model_dump(), versions=views)

    def _files(self, version: PluginVersion) -> list[ArtifactFile]:
        data = self._artifacts.read(version.artifact_key, max_bytes=self._max_artifact_bytes)
        if data is None:
            raise DependencyUnavailableError(
                f"The artifact of {version.plugin_id}@{version.version} is missing from the artifact store.",
                artifact_key=version.artifact_key,
            )
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [
                ArtifactFile(path=i.filename, size=i.file_size, sha256=hashlib.sha256(archive.read(i)).hexdigest())
                for i in sorted(archive.infolist(), key=lambda i: i.filename)
                if not i.is_dir()
            ]
