"""Deploying approved versions where they run, and giving back what nobody can run any more.

One code path for both executors: approving a version starts its deployment. A deployer that is quick
and local (the sandbox's code cache: unpack the zip) deploys on the spot, so the version is ``ready``
when the approval answers; the Lambda deployer (role, function, wait until Active: seconds to minutes)
is driven by the deploy queue and its worker, and the version is ``deploying`` until then. Either way
the outcome is recorded on the version (``ready`` / ``failed`` + reason) and in the audit log.

Clean-up: a yanked version (its installations are disabled and cannot be enabled again), or a version
no longer installable whose last installation left, gets a ``remove`` message; the deployer deletes its
function and role (IAM's default quota is 1,000 roles per account).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib.domain.deployments import DeploymentFailedError, DeployMessage, VersionNotReadyError
from chalicelib.domain.models import Installation, PluginVersion
from chalicelib.ports import (
    Clock,
    FunctionDeployer,
    InstallationRepository,
    PluginRepository,
    VersionRepository,
    WorkQueues,
)
from chalicelib.services.audit import AuditService

__all__ = ["DeploymentService"]

log = logging.getLogger(__name__)

ACTOR = "platform:deployer"
_REASON_CHARS = 500
RETRY_AFTER_S = 10  # how long a caller (or a queued event) waits before asking a deploying version again


class DeploymentService:
    """Start, run and record deployments; schedule the removal of versions nobody can run."""

    def __init__(
        self,
        plugins: PluginRepository,
        versions: VersionRepository,
        installs: InstallationRepository,
        queues: WorkQueues,
        deployer: FunctionDeployer,
        audit: AuditService,
        clock: Clock,
        *,
        catalog_changed: Callable[[], object],
    ) -> None:
        # The marketplace's catalog cache shows versions: a deployment state change must bump it.
        self._catalog_changed = catalog_changed
        self._plugins = plugins
        self._versions = versions
        self._installs = installs
        self._queues = queues
        self.deployer = deployer
        self._audit = audit
        self._clock = clock

    # -- before an invocation --------------------------------------------------------------

    def require_ready(self, version: PluginVersion) -> None:
        """Return when the version can run; VersionNotReadyError (nothing ran) otherwise.

        A version without a deployment (approved before deployments were recorded, or removed as
        superseded and installed again) starts one: on the spot with a local deployer, else queued.
        """
        if version.deployment == "ready":
            return
        if version.deployment is None:
            started = self.start(version)
            if started.deployment == "ready":
                return
            version = started
        if version.deployment == "failed":
            raise VersionNotReadyError(
                f"{_target(version)} could not be deployed: {version.deployment_reason or 'no reason recorded'}.",
                deployment="failed",
            )
        raise VersionNotReadyError(
            f"{_target(version)} is still being deployed; retry shortly.",
            deployment="deploying",
            retry_after_s=RETRY_AFTER_S,
        )

    # -- after a review --------------------------------------------------------------------

    def on_reviewed(self, version: PluginVersion) -> None:
        """Approve → deploy; yank → remove (its installations were just disabled)."""
        if version.state == "approved":
            self.start(version)
        elif version.state == "yanked":
            self._queues.send([DeployMessage(action="remove", **_ids(version))])

    def start(self, version: PluginVersion) -> PluginVersion:
        """Begin the deployment of an approved version: on the spot, or through the deploy queue."""
        if self.deployer.synchronous:
            return self._run(version, final_attempt=True)
        pending = self._save(version, "deploying", None)
        self._queues.send([DeployMessage(**_ids(version))])
        self._audit.record(
            self._workspace(version), ACTOR, "plugin.version.deploy", _target(version), deployment="deploying"
        )
        return pending

    # -- the deployer worker ---------------------------------------------------------------

    def handle(self, message: DeployMessage, *, final_attempt: bool) -> str:
        """Run one deploy message; raises to be retried (until ``final_attempt``, which records failed)."""
        version = self._versions.get(message.plugin_id, message.version)
        if version is None:
            return "skipped:unknown-version"
        if message.action == "remove":
            return self._remove(version)
        if version.state != "approved":
            return f"skipped:{version.state}"  # yanked while queued: its removal is queued too
        if version.deployment == "ready":
            return "skipped:ready"  # a duplicate delivery of the message
        return str(self._run(version, final_attempt=final_attempt).deployment)

    def _run(self, version: PluginVersion, *, final_attempt: bool) -> PluginVersion:
        try:
            self.deployer.deploy(version)
        except DeploymentFailedError as exc:
            return self._failed(version, exc.reason)
        except Exception as exc:
            if not final_attempt:
                log.warning("deployment of %s failed; it will be retried", _target(version), exc_info=True)
                raise
            log.exception("deployment of %s failed for the last time", _target(version))
            return self._failed(version, f"{type(exc).__name__}: {exc}")
        ready = self._save(version, "ready", None)
        self._audit.record(
            self._workspace(version), ACTOR, "plugin.version.deploy", _target(version), deployment="ready"
        )
        return ready

    def _failed(self, version: PluginVersion, reason: str) -> PluginVersion:
        failed = self._save(version, "failed", reason[:_REASON_CHARS])
        self._audit.record(
            self._workspace(version),
            ACTOR,
            "plugin.version.deploy",
            _target(version),
            "failed",
            deployment="failed",
            reason=reason[:_REASON_CHARS],
        )
        return failed

    def _remove(self, version: PluginVersion) -> str:
        if version.state == "approved":
            plugin = self._plugins.get(version.plugin_id)
            if plugin is not None and plugin.latest_version == version.version:
                return "skipped:latest"
            if self._installs.list_on_version(version.plugin_id, version.version):
                return "skipped:still-installed"
        self.deployer.remove(version.plugin_id, version.version)
        if version.deployment is not None:
            self._save(version, None, None)
        self._audit.record(self._workspace(version), ACTOR, "plugin.version.undeploy", _target(version))
        return "removed"

    # -- after an installation leaves a version --------------------------------------------

    def on_installation_event(self, event_type: str, inst: Installation, detail: dict[str, Any]) -> None:
        """After an uninstall or an upgrade: remove the version left behind if it is superseded and unused."""
        if event_type == "plugin.uninstalled":
            left = inst.version
        elif event_type == "plugin.upgraded":
            left = str(detail.get("from") or "")
        else:
            return
        plugin = self._plugins.get(inst.plugin_id)
        if not left or (plugin is not None and plugin.latest_version == left):
            return  # the current version stays deployed for the next install
        # Whether anyone is still on it is checked by the deployer worker, off the request path.
        self._queues.send([DeployMessage(action="remove", plugin_id=inst.plugin_id, version=left)])

    def _workspace(self, version: PluginVersion) -> str:
        # The publisher's workspace: its audit log shows how its versions were deployed.
        plugin = self._plugins.get(version.plugin_id)
        return plugin.owner_workspace_id if plugin is not None else "platform"

    def _save(self, version: PluginVersion, state: str | None, reason: str | None) -> PluginVersion:
        # Re-read: a review may have changed the version since the message was queued.
        current = self._versions.get(version.plugin_id, version.version) or version
        updated = current.model_copy(
            update={
                "deployment": state,
                "deployment_reason": reason,
                "deployed_at": self._clock.now() if state == "ready" else current.deployed_at,
            }
        )
        self._versions.update(updated)
        self._catalog_changed()
        return updated


def _ids(version: PluginVersion) -> dict[str, str]:
    return {"plugin_id": version.plugin_id, "version": version.version}


def _target(version: PluginVersion) -> str:
    return f"{version.plugin_id}@{version.version}"
