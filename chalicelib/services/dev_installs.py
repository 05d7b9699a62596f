"""Development installations: a workspace runs its own unpublished, unreviewed upload of a plugin.

The zip passes the same manifest and artifact checks as a published version (domain/artifact.py), but
no signature and no review: it can only ever run in the workspace that uploaded it. Its code is stored
content-addressed like any artifact, as a version in the ``development`` state keyed per workspace
(``dev-<workspace_id>``), which the marketplace never lists. Each upload replaces that version in place;
the installation keeps its id, its data and its configuration, and receives every scope the manifest asks
for (in this workspace only). A new upload has a new digest, hence a new code directory, and the sandbox
replaces a warm worker whose code directory changed: the very next invocation runs the new code.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from chalicelib.domain.artifact import inspect_artifact
from chalicelib.domain.errors import (
    ConflictError,
    DevInstallationsDisabledError,
    ForbiddenError,
    PlugyardError,
    ValidationFailedError,
)
from chalicelib.domain.manifest import PlatformCaps
from chalicelib.domain.messages import installation_target
from chalicelib.domain.models import Caller, DevInstallation, Installation, PluginVersion
from chalicelib.domain.outbox import NewInstallation
from chalicelib.domain.permissions import Action
from chalicelib.ports import (
    ArtifactStore,
    Clock,
    FunctionDeployer,
    IdGenerator,
    InstallationRepository,
    InstallationWriter,
    PermissionRepository,
    PluginRepository,
    SubscriptionRepository,
    VersionRepository,
)
from chalicelib.services.audit import AuditService
from chalicelib.services.events import EventService
from chalicelib.services.install_versions import history_entry
from chalicelib.services.marketplace import artifact_key

__all__ = ["DEV_VERSION_PREFIX", "DevInstallService", "dev_version_of"]

log = logging.getLogger(__name__)

DEV_VERSION_PREFIX = "dev-"


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Threads for an upload's independent storage calls (shared by the process's requests)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dev-upload")
        return _POOL


def _quietly(hook: Callable[[Installation, PluginVersion], object], inst: Installation, v: PluginVersion) -> None:
    try:
        hook(inst, v)
    except Exception:  # an optimisation: the next invocation starts the worker itself if this failed
        log.exception("after-upload hook failed", extra={"installation_id": inst.installation_id})


def dev_version_of(workspace_id: str) -> str:
    """The version key of a workspace's development upload of a plugin (one per workspace and plugin)."""
    return f"{DEV_VERSION_PREFIX}{workspace_id}"


class DevInstallService:
    """Create or update a development installation from a zip, audited; clean up after an uninstall."""

    def __init__(
        self,
        *,
        enabled: bool,
        plugins: PluginRepository,
        versions: VersionRepository,
        artifacts: ArtifactStore,
        installs: InstallationRepository,
        permissions: PermissionRepository,
        subscriptions: SubscriptionRepository,
        writer: InstallationWriter,
        deployer: FunctionDeployer,
        events: EventService,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        caps: PlatformCaps,
    ) -> None:
        self.enabled = enabled
        self._plugins = plugins
        self._versions = versions
        self._artifacts = artifacts
        self._installs = installs
        self._permissions = permissions
        self._subs = subscriptions
        self._writer = writer
        self._deployer = deployer
        self._events = events
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._caps = caps
        # Called (off the request's path) after each upload: the sandbox starts the new code's worker, so the
        # next invocation does not wait for it (container: InvocationService.prewarm).
        self.on_uploaded: list[Callable[[Installation, PluginVersion], object]] = []

    def upload(self, caller: Caller, plugin_id: str, data: bytes) -> DevInstallation:
        """Check the zip, store it, and create or update the workspace's development installation."""
        action = "plugin.dev.upload"
        self._audit.authorize(caller, Action.DEVELOP, action, plugin_id)
        if not self.enabled:
            self._audit.record(caller.workspace_id, caller.actor, action, plugin_id, "denied", reason="disabled")
            raise DevInstallationsDisabledError(
                "This stage does not allow development installations (PLUGYARD_DEV_INSTALLATIONS is off); "
                "run `make run` locally, or publish the plugin for review."
            )
        if not self._deployer.synchronous:
            # A Lambda function per version is created once and never updated in place: a new upload under
            # the same development version would keep running the old code. Refused rather than stale.
            self._audit.record(caller.workspace_id, caller.actor, action, plugin_id, "denied", reason="executor")
            raise DevInstallationsDisabledError(
                "This stage runs plugins as AWS Lambda functions, which development installations cannot update "
                "in place yet; run `make run` (the sandbox executor) for the dev loop."
            )
        try:
            result = self._upload(caller, plugin_id, data)
        except PlugyardError as exc:
            self._audit.record(caller.workspace_id, caller.actor, action, plugin_id, "failed", reason=exc.code)
            raise
        return result

    def _upload(self, caller: Caller, plugin_id: str, data: bytes) -> DevInstallation:
        art = inspect_artifact(data, self._caps)
        m = art.manifest
        if m.id != plugin_id:
            raise ValidationFailedError(
                f"The manifest's id is '{m.id}', but the upload is for '{plugin_id}'.", manifest_id=m.id
            )
        # A dev loop waits on this answer after every save: the independent reads (and the idempotent,
        # content-addressed store of the zip) go at once rather than one after the other.
        self._audit.prefetch(caller.workspace_id)
        key = artifact_key(art.sha256)
        vkey = dev_version_of(caller.workspace_id)
        pool = _pool()
        plugin_f = pool.submit(self._plugins.get, m.id)
        existing_f = pool.submit(self._installs.get, caller.workspace_id, m.id)
        previous_f = pool.submit(self._versions.get, m.id, vkey)
        stored_f = pool.submit(self._artifacts.put, key, data)
        plugin, existing, previous = plugin_f.result(), existing_f.result(), previous_f.result()
        stored_f.result()
        if plugin is not None and plugin.owner_workspace_id != caller.workspace_id:
            # Another publisher's id: its event source and its name in the audit log are not the caller's.
            raise ForbiddenError(f"Plugin id '{m.id}' belongs to another publisher.", plugin_id=m.id)
        if existing is not None and not existing.development:
            raise ConflictError(
                f"'{m.id}' is installed from the marketplace in this workspace; uninstall it before running a "
                "development version.",
                plugin_id=m.id,
            )
        now = self._clock.now()
        version = PluginVersion(
            plugin_id=m.id,
            version=vkey,
            manifest=m,
            artifact_sha256=art.sha256,
            artifact_key=key,
            size_bytes=art.size_bytes,
            state="development",
            published_at=now,
            published_by=caller.actor,
        )
        if self._deployer.synchronous:
            # Unpacked now, from the bytes at hand (the sandbox's code cache): the next invocation finds it
            # ready, and a zip that cannot be unpacked is this upload's error, not that invocation's.
            prime = getattr(self._deployer, "prime", None)
            if callable(prime):
                prime(version, data)
            else:
                self._deployer.deploy(version)
            version = version.model_copy(update={"deployment": "ready", "deployed_at": now})
        self._versions.put_development(version)
        granted = sorted(set(m.permissions))
        forgotten: Future[None] | None = None
        if previous is not None and previous.artifact_sha256 != art.sha256:
            forgotten = pool.submit(self._forget_artifact, previous)
        if existing is None:
            installation = self._create(caller, version, granted)
        else:
            installation = self._update(caller, existing, version, previous, granted)
        if forgotten is not None:
            forgotten.result()
        for hook in self.on_uploaded:
            pool.submit(_quietly, hook, installation, version)
        return DevInstallation(
            installation=installation,
            manifest_version=m.version,
            artifact_sha256=art.sha256,
            size_bytes=art.size_bytes,
            created=existing is None,
            granted=granted,
            notice=(
                f"Development installation: unpublished and unreviewed; every scope its manifest requests "
                f"({', '.join(granted) or 'none'}) is granted, in this workspace only."
            ),
        )

    def _create(self, caller: Caller, version: PluginVersion, granted: list[str]) -> Installation:
        now = self._clock.now()
        m = version.manifest
        installation = Installation(
            installation_id=self._ids.new_id(),
            workspace_id=caller.workspace_id,
            plugin_id=m.id,
            version=version.version,
            state="enabled",
            granted=granted,
            installed_at=now,
            installed_by=caller.actor,
            updated_at=now,
            development=True,
            history=[history_entry(self._clock, "dev-install", caller.actor, sha256=version.artifact_sha256)],
        )
        event = self._events.envelope(
            caller.workspace_id,
            "plugin.installed",
            {"installation_id": installation.installation_id, "plugin_id": m.id, "version": version.version},
        )
        change = NewInstallation(
            installation=installation,
            granted_by=caller.actor,
            granted_at=now,
            subscribe_to=sorted(set(m.events)),
            events=[event],
            count_install=False,
        )
        self._audit.record_with(
            caller.workspace_id,
            caller.actor,
            "plugin.dev.install",
            installation.installation_id,
            lambda record: self._writer.create(replace(change, audit=record)),
            plugin_id=m.id,
            manifest_version=m.version,
            sha256=version.artifact_sha256,
            granted=granted,
        )
        return installation

    def _update(
        self,
        caller: Caller,
        inst: Installation,
        version: PluginVersion,
        previous: PluginVersion | None,
        granted: list[str],
    ) -> Installation:
        previous_grants = list(inst.granted)
        m = version.manifest
        target = installation_target(inst.installation_id)
        old_events = set(previous.manifest.events) if previous is not None else set()
        new_events = set(m.events)
        inst.granted = granted
        inst.updated_at = self._clock.now()
        inst.history = [
            *inst.history[-19:],  # a dev loop uploads often: the history keeps the recent uploads only
            history_entry(self._clock, "dev-upload", caller.actor, sha256=version.artifact_sha256),
        ]
        pool = _pool()
        writes: list[Future[Any]] = [
            pool.submit(self._installs.put, inst),
            pool.submit(
                self._audit.record,
                caller.workspace_id,
                caller.actor,
                "plugin.dev.update",
                inst.installation_id,
                plugin_id=m.id,
                manifest_version=m.version,
                sha256=version.artifact_sha256,
                granted=granted,
            ),
        ]
        if old_events - new_events:
            writes.append(pool.submit(self._subs.remove, inst.workspace_id, sorted(old_events - new_events), target))
        if inst.state == "enabled" and new_events != old_events:
            writes.append(pool.submit(self._subs.add, inst.workspace_id, sorted(new_events), target))
        if set(granted) != set(previous_grants):
            writes.append(pool.submit(self._regrant, caller, inst.installation_id, granted, version.version))
        for write in writes:
            write.result()
        return inst

    def _regrant(self, caller: Caller, installation_id: str, granted: list[str], version: str) -> None:
        self._permissions.revoke_all(installation_id)
        self._permissions.grant(installation_id, granted, by=caller.actor, version=version, at=self._clock.now())

    def forget(self, inst: Installation) -> None:
        """After a development installation is uninstalled: its version record and its unshared zip go."""
        if not inst.development:
            return
        version = self._versions.get(inst.plugin_id, inst.version)
        self._versions.delete(inst.plugin_id, inst.version)
        if version is not None:
            self._forget_artifact(version)

    def _forget_artifact(self, version: PluginVersion) -> None:
        # Content-addressed: the same zip may back a published version or another workspace's upload.
        others = [
            v
            for v in self._versions.find_by_digest(version.artifact_sha256)
            if (v.plugin_id, v.version) != (version.plugin_id, version.version)
        ]
        if not others:
            self._artifacts.delete(version.artifact_key)
