"""Publishing plugin versions, the review lifecycle, and browsing the marketplace."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import semver

from chalicelib.domain.artifact import inspect_artifact
from chalicelib.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    PluginNotFoundError,
    PlugyardError,
    UploadNotFoundError,
    VersionNotFoundError,
)
from chalicelib.domain.installable import latest_installable, pick_installable
from chalicelib.domain.manifest import PlatformCaps
from chalicelib.domain.models import (
    Caller,
    DeprecateRequest,
    Plugin,
    PluginDetail,
    PluginPage,
    PluginSummary,
    PluginVersion,
    ReviewDecision,
    SubmitVersionRequest,
    UploadTicket,
)
from chalicelib.domain.outbox import CacheGeneration
from chalicelib.domain.permissions import Action, Role
from chalicelib.domain.review import Decision, check_scan_acknowledged, reviewed_state, scan_of
from chalicelib.domain.scan import scan_or_refuse
from chalicelib.domain.versions import is_range
from chalicelib.ports import ArtifactStore, Clock, IdGenerator, PluginRepository, VersionRepository
from chalicelib.services.audit import AuditService
from chalicelib.services.catalog_cache import MarketplaceCache
from chalicelib.services.listing import listing_page, summary_view, version_view
from chalicelib.services.publishers import PublisherService

__all__ = ["MarketplaceService", "ResolvedVersion", "VersionHook", "artifact_key"]

VersionHook = Callable[[PluginVersion], None]


def artifact_key(sha256: str) -> str:
    """Content-addressed S3 key of an artifact."""
    return f"artifacts/sha256/{sha256}.zip"


def _upload_key(workspace_id: str, upload_id: str) -> str:
    return f"uploads/{workspace_id}/{upload_id}.zip"


@dataclass(frozen=True)
class ResolvedVersion:
    """The version an install gets, and the catalog generation it was chosen at."""

    version: PluginVersion
    generation: CacheGeneration


class MarketplaceService:
    """Publish (upload → signed submit → review), deprecate, and the cached listing."""

    def __init__(
        self,
        plugins: PluginRepository,
        versions: VersionRepository,
        artifacts: ArtifactStore,
        publishers: PublisherService,
        cache: MarketplaceCache,
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
        self._publishers = publishers
        self.cache = cache
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._caps = caps
        self._host_version = host_version
        self._max_artifact_bytes = max_artifact_bytes
        self._upload_ttl_s = upload_ttl_s
        # Called after every review decision (approve: deploy a Lambda; yank: disable installations).
        self.on_reviewed: list[VersionHook] = []

    # --- publishing ---------------------------------------------------------------------

    def request_upload(self, caller: Caller) -> UploadTicket:
        """A presigned PUT URL for one plugin zip, valid for a few minutes."""
        self._audit.authorize(caller, Action.PUBLISH, "plugin.upload")
        if self._publishers.publisher_of(caller) is None:  # nothing it uploaded could ever be submitted
            raise ForbiddenError(
                "This workspace is not registered as a publisher; an admin creates one with POST /api/publishers."
            )
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
        """Check the uploaded zip and its signature; store it as a version pending review."""
        self._audit.authorize(caller, Action.PUBLISH, "plugin.version.publish", req.upload_id)
        key = _upload_key(caller.workspace_id, req.upload_id)
        data = self._artifacts.read(key, max_bytes=self._max_artifact_bytes)
        if data is None:
            raise UploadNotFoundError(
                f"Nothing was uploaded under '{req.upload_id}' in this workspace (or it expired).",
                upload_id=req.upload_id,
            )
        try:
            version = self._publish(caller, data, req)
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
            signing_key_id=version.signing_key_id,
            scan=scan_of(version).status,
        )
        self.cache.invalidate()
        return self.get_plugin(caller, version.plugin_id)

    def _publish(self, caller: Caller, data: bytes, req: SubmitVersionRequest) -> PluginVersion:
        art = inspect_artifact(data, self._caps)
        m = art.manifest
        publisher_id = self._publishers.publisher_of(caller)
        if publisher_id is None:
            raise ForbiddenError("This workspace is not registered as a publisher.")
        if m.publisher != publisher_id:
            raise ForbiddenError(
                f"The manifest names publisher '{m.publisher}', but this workspace publishes as '{publisher_id}': "
                "set the manifest's publisher to it (each workspace publishes only under its own publisher).",
                publisher=m.publisher,
            )
        plugin = self._plugins.get(m.id)
        if plugin is not None and plugin.owner_workspace_id != caller.workspace_id:
            raise ForbiddenError(f"Plugin id '{m.id}' belongs to another publisher.", plugin_id=m.id)
        scan = scan_or_refuse(data)
        signing_key_id = self._publishers.check_signature(m.publisher, art.sha256, req.signature, req.key_id)
        if self._versions.get(m.id, m.version) is not None:
            raise ConflictError(
                f"{m.id}@{m.version} is already published; versions are immutable, bump the version.",
                plugin_id=m.id,
                version=m.version,
            )
        for other in self._versions.find_by_digest(art.sha256):
            if other.state == "development":
                continue  # a dev upload of the same zip does not make it published
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
            state="pending",
            published_at=now,
            published_by=caller.actor,
            signature=req.signature,
            signing_key_id=signing_key_id,
            scan=scan,
        )
        self._versions.create(version)  # ConflictError when a concurrent submit won
        if plugin is None:
            self._plugins.put(
                Plugin(
                    plugin_id=m.id,
                    publisher=m.publisher,
                    owner_workspace_id=caller.workspace_id,
                    name=m.name,
                    description=m.description,
                    categories=m.categories,
                    permissions=m.permissions,
                    created_at=now,
                    updated_at=now,
                )
            )
        return version

    def refresh_plugin(self, plugin_id: str) -> None:
        """Recompute the plugin record from its approved versions (after any state change)."""
        plugin = self._plugins.get(plugin_id)
        if plugin is None:
            return
        latest = latest_installable(self._versions.list_versions(plugin_id), self._host_version)
        update: dict[str, object] = {"latest_version": latest.version if latest else None}
        if latest is not None:
            lm = latest.manifest
            update |= {
                "name": lm.name,
                "description": lm.description,
                "categories": lm.categories,
                "permissions": lm.permissions,
            }
        self._plugins.put(plugin.model_copy(update={**update, "updated_at": self._clock.now()}))
        self.cache.invalidate()

    # --- review (platform reviewers) ----------------------------------------------------

    def review(
        self,
        caller: Caller,
        plugin_id: str,
        version: str,
        decision: Decision,
        req: ReviewDecision,
    ) -> PluginVersion:
        """Approve or reject a pending version, or yank an approved one; audited with who and why."""
        action = f"plugin.version.{decision}"
        self._audit.authorize(caller, Action.REVIEW, action, f"{plugin_id}@{version}")
        found = self._versions.get(plugin_id, version)
        if found is None:
            raise VersionNotFoundError(plugin_id, version)
        new_state = reviewed_state(decision, plugin_id=plugin_id, version=version, state=found.state, reason=req.reason)
        check_scan_acknowledged(found, decision, req.acknowledge_scan_failure)
        scan_status = scan_of(found).status
        updated = found.model_copy(
            update={
                "state": new_state,
                "reviewed_by": caller.actor,
                "reviewed_at": self._clock.now(),
                "review_reason": req.reason or None,
            }
        )
        self._versions.update(updated)
        self.refresh_plugin(plugin_id)
        owner = self._plugins.get(plugin_id)
        target = f"{plugin_id}@{version}"
        detail: dict[str, Any] = {
            "reason": req.reason,
            "scan": scan_status,
            "scan_failure_acknowledged": req.acknowledge_scan_failure,
        }
        self._audit.record(caller.workspace_id, caller.actor, action, target, **detail)
        if owner is not None and owner.owner_workspace_id != caller.workspace_id:
            self._audit.record(owner.owner_workspace_id, caller.actor, action, target, **detail)
        for hook in self.on_reviewed:
            hook(updated)
        # The hooks may have moved it on (an approval deploys it): answer what is stored now.
        return self._versions.get(plugin_id, version) or updated

    def deprecate(self, caller: Caller, plugin_id: str, version: str | None, req: DeprecateRequest) -> None:
        """A publisher marks a version (or the whole plugin) deprecated; it stays installable, flagged."""
        target = f"{plugin_id}@{version}" if version else plugin_id
        self._audit.authorize(caller, Action.PUBLISH, "plugin.deprecate", target)
        plugin = self._plugins.get(plugin_id)
        if plugin is None or plugin.owner_workspace_id != caller.workspace_id:
            raise PluginNotFoundError(plugin_id)
        if version is None:
            self._plugins.put(
                plugin.model_copy(
                    update={
                        "status": "deprecated",
                        "deprecation_message": req.message,
                        "updated_at": self._clock.now(),
                    }
                )
            )
        else:
            found = self._versions.get(plugin_id, version)
            if found is None:
                raise VersionNotFoundError(plugin_id, version)
            self._versions.update(found.model_copy(update={"deprecated": True, "deprecation_message": req.message}))
        self.cache.invalidate()
        self._audit.record(caller.workspace_id, caller.actor, "plugin.deprecate", target, message=req.message)

    # --- browsing -----------------------------------------------------------------------

    def list_plugins(
        self,
        caller: Caller,
        *,
        query: str | None,
        category: str | None,
        limit: int,
        token: str | None,
        sort: str = "name",
    ) -> PluginPage:
        """One page of listed plugins (approved versions only), filtered, sorted, from the cache."""
        self._audit.authorize(caller, Action.READ_MARKETPLACE)
        page, next_token = listing_page(
            self.cache.plugins(), query=query, category=category, limit=limit, token=token, sort=sort
        )
        return PluginPage(items=[self._summary(p) for p in page], next_token=next_token)

    def get_plugin(self, caller: Caller, plugin_id: str) -> PluginDetail:
        """A plugin with its versions, newest first; pending/rejected ones only for its owner and reviewers."""
        self._audit.authorize(caller, Action.READ_MARKETPLACE)
        # The plugin record is read fresh (its install count moves with every install) together with the catalog
        # generation; its versions come from the catalog cache, which every version change invalidates.
        plugin = self.cache.plugin_checked(plugin_id)
        insider = plugin is not None and (
            plugin.owner_workspace_id == caller.workspace_id or caller.role == Role.REVIEWER
        )
        if plugin is None or (not plugin.latest_version and not insider):
            raise PluginNotFoundError(plugin_id)
        all_versions = self.cache.memo_current(f"versions:{plugin_id}", lambda: self._versions.list_versions(plugin_id))
        versions = sorted(
            # Development uploads are a workspace's private runs, never part of the marketplace.
            (v for v in all_versions if v.state != "development" and (insider or v.state == "approved")),
            key=lambda v: semver.Version.parse(v.version),
            reverse=True,
        )
        views = [version_view(v) for v in versions]
        if insider:  # the scan outcome is for the publisher and reviewers, not the marketplace
            for view, v in zip(views, versions, strict=True):
                view.scan_status = scan_of(v).status
        return PluginDetail(**self._summary(plugin).model_dump(), versions=views)

    def get_version(self, plugin_id: str, version: str | None) -> PluginVersion | None:
        """An exact version or the highest matching a range; None = latest installable."""
        if version is None or is_range(version):
            try:
                return latest_installable(self._versions.list_versions(plugin_id), self._host_version, version)
            except ValueError as exc:
                raise InvalidRequestError(f"'{version}' is neither a version nor a version range.") from exc
        found = self._versions.get(plugin_id, version)
        if found is None or not found.installable or not found.manifest.supports_host(self._host_version):
            return None
        return found

    def resolve_version(self, plugin_id: str, spec: str | None, *, fresh: bool = True) -> ResolvedVersion:
        """The version an install gets, and the catalog generation it was read at; PluginNotFoundError /
        VersionNotFoundError otherwise.

        From the catalog cache, as the upgrade options are. Its generation is bumped by every write to a version
        (publish, review, yank, deprecate, deployment). With ``fresh`` it is read now (one small GetItem
        instead of a Query); without, the held snapshot's generation is trusted, and the caller's commit must
        check it (``NewInstallation.resolved_at``): either way a yanked version is never installed once the
        yank has returned."""
        load = functools.partial(self._versions.list_versions, plugin_id)
        key = f"versions:{plugin_id}"
        held = None if fresh else self.cache.memo_at(key, load)
        if held is not None:
            try:
                return ResolvedVersion(pick_installable(plugin_id, spec, held[0], self._host_version), held[1])
            except (PluginNotFoundError, VersionNotFoundError):
                pass  # no commit will check this answer: a version approved since must not be refused
        versions, generation = self.cache.memo_checked(key, load)
        return ResolvedVersion(pick_installable(plugin_id, spec, versions, self._host_version), generation)

    def installable_versions(self, plugin_id: str) -> list[PluginVersion]:
        """Every version a workspace may move to: approved and supporting this host."""
        versions = self.cache.memo(f"versions:{plugin_id}", lambda: self._versions.list_versions(plugin_id))
        return [v for v in versions if v.installable and v.manifest.supports_host(self._host_version)]

    def get_any_version(self, plugin_id: str, version: str) -> PluginVersion | None:
        """A version in whatever state (for installations already on it)."""
        return self._versions.get(plugin_id, version)

    def _verified(self, publisher_id: str) -> bool:
        # Verification bumps the catalog generation, so the memo never outlives a change.
        return self.cache.memo_current(f"verified:{publisher_id}", lambda: self._publishers.is_verified(publisher_id))

    def _summary(self, p: Plugin) -> PluginSummary:
        return summary_view(p, publisher_verified=self._verified(p.publisher))
