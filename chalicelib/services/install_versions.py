"""Moving an installation between versions: upgrade (new scopes wait for an admin's consent), consent, rollback.

InstallService finds the installation and checks the caller's role; InstallationVersions chooses the
target version and the grants and records the move: the installation, its grants, the audit record and
the ``plugin.upgraded`` event to the lifecycle hooks.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import semver

from chalicelib.domain.errors import ConflictError, PlugyardError, ScopesNotGrantedError, VersionNotFoundError
from chalicelib.domain.models import Caller, Installation, PluginVersion, UpgradeOptions, UpgradeRequest
from chalicelib.domain.permissions import check_grant
from chalicelib.domain.upgrades import pending_upgrade, rollback_target, version_change
from chalicelib.ports import Clock, InstallationRepository, PermissionRepository, SecretBox
from chalicelib.services.audit import AuditService
from chalicelib.services.install_config import apply_config, validate_config
from chalicelib.services.listing import version_view
from chalicelib.services.marketplace import MarketplaceService
from chalicelib.services.secret_config import effective_config

__all__ = ["InstallationVersions", "LifecycleHook", "history_entry"]

# (event type, installation, extra data) — the events pipeline subscribes here. An install writes its
# subscriptions and its event in its own transaction; hooks hear every later change of the installation.
LifecycleHook = Callable[[str, Installation, dict[str, Any]], None]


def history_entry(clock: Clock, action: str, actor: str, **detail: Any) -> dict[str, Any]:
    """One entry of an installation's history: when, what, by whom, and the details."""
    return {"at": clock.now().isoformat(), "action": action, "by": actor, **detail}


class InstallationVersions:
    """Upgrade, consent and rollback of one installation, audited; ``hooks`` hear every move."""

    def __init__(
        self,
        marketplace: MarketplaceService,
        installs: InstallationRepository,
        permissions: PermissionRepository,
        secrets: SecretBox,
        audit: AuditService,
        clock: Clock,
        hooks: builtins.list[LifecycleHook],
    ) -> None:
        self._marketplace = marketplace
        self._installs = installs
        self._permissions = permissions
        self._secrets = secrets
        self._audit = audit
        self._clock = clock
        self._hooks = hooks

    def upgrade(self, caller: Caller, inst: Installation, req: UpgradeRequest) -> Installation:
        """Move to another version; new scopes need consent (or ``keep_grants`` to run under the old ones)."""
        try:
            target = self._marketplace.get_version(inst.plugin_id, req.version)
            if target is None:
                raise VersionNotFoundError(inst.plugin_id, req.version or "latest")
            if target.version == inst.version:
                raise ConflictError(f"The installation is already on {inst.version}.", version=inst.version)
            check_grant(req.grant)
            requested = set(target.manifest.permissions)
            new_scopes = sorted(requested - set(inst.granted))
            consented = set(new_scopes) <= set(req.grant)
            config = req.config if req.config is not None else effective_config(self._secrets, inst)
            validate_config(target.manifest.config_schema, config)
        except PlugyardError as exc:
            self._audit.record(
                caller.workspace_id, caller.actor, "plugin.upgrade", inst.installation_id, "failed", reason=exc.code
            )
            raise
        if new_scopes and not consented and not req.keep_grants:
            # Until an admin consents, the installation keeps running its current version with its
            # current grants and keeps receiving events: only the upgrade waits, the plugin does not stop.
            inst.pending_upgrade = pending_upgrade(target, new_scopes, self._clock.now())
            inst.updated_at = self._clock.now()
            inst.history.append(
                history_entry(self._clock, "upgrade_requested", caller.actor, to=target.version, scopes=new_scopes)
            )
            self._installs.put(inst)
            self._audit.record(
                caller.workspace_id,
                caller.actor,
                "plugin.upgrade",
                inst.installation_id,
                to=target.version,
                pending_consent=new_scopes,
            )
            return inst
        granted = sorted((set(inst.granted) | set(req.grant)) & requested)
        return self._move(caller, inst, target, granted, "upgrade", config)

    def consent(self, caller: Caller, inst: Installation, grant: builtins.list[str]) -> Installation:
        """Grant the scopes a pending upgrade asks for, and apply it."""
        if inst.pending_upgrade is None:
            raise ConflictError("No upgrade is waiting for consent on this installation.")
        missing = sorted({s.scope for s in inst.pending_upgrade.new_scopes} - set(grant))
        if missing:
            self._audit.record(caller.workspace_id, caller.actor, "plugin.consent", inst.installation_id, "denied")
            raise ScopesNotGrantedError(missing)
        return self.upgrade(caller, inst, UpgradeRequest(version=inst.pending_upgrade.version, grant=grant))

    def decline(self, caller: Caller, inst: Installation) -> Installation:
        """Drop the upgrade waiting for consent: the installation keeps its version and its grants."""
        pending = inst.pending_upgrade
        if pending is None:
            raise ConflictError("No upgrade is waiting for consent on this installation.")
        inst.pending_upgrade = None
        inst.updated_at = self._clock.now()
        inst.history.append(history_entry(self._clock, "upgrade_declined", caller.actor, version=pending.version))
        self._installs.put(inst)
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            "plugin.upgrade.decline",
            inst.installation_id,
            declined=pending.version,
            kept=inst.version,
        )
        return inst

    def options(self, inst: Installation, current: PluginVersion) -> UpgradeOptions:
        """The version ``inst`` runs, the newer installable ones with what each changes, and its rollback."""
        if inst.development:  # moved only by new uploads
            return UpgradeOptions(installation=inst, current=version_view(current), upgrades=[], rollback=None)
        running = semver.Version.parse(inst.version)
        newer = sorted(
            (
                v
                for v in self._marketplace.installable_versions(inst.plugin_id)
                if semver.Version.parse(v.version) > running
            ),
            key=lambda v: semver.Version.parse(v.version),
            reverse=True,
        )
        previous = rollback_target(inst)
        back = self._marketplace.get_any_version(inst.plugin_id, previous) if previous else None
        return UpgradeOptions(
            installation=inst,
            current=version_view(current),
            upgrades=[version_change(inst, current, v) for v in newer],
            rollback=version_change(inst, current, back) if back is not None and back.installable else None,
        )

    def rollback(self, caller: Caller, inst: Installation) -> Installation:
        """Return to the version this installation ran before its last upgrade."""
        previous = rollback_target(inst)
        if not previous:
            raise ConflictError("This installation has no earlier version to roll back to.")
        target = self._marketplace.get_any_version(inst.plugin_id, str(previous))
        if target is None or not target.installable:
            state = target.state if target else "missing"
            raise ConflictError(f"Version {previous} is {state} and cannot be rolled back to.", version=previous)
        granted = sorted(set(inst.granted) & set(target.manifest.permissions))
        return self._move(caller, inst, target, granted, "rollback", effective_config(self._secrets, inst))

    def _move(
        self,
        caller: Caller,
        inst: Installation,
        target: PluginVersion,
        granted: builtins.list[str],
        action: str,
        config: dict[str, Any],
    ) -> Installation:
        old = inst.version
        inst.version = target.version
        inst.granted = granted
        inst.run_under_old_grants = bool(set(target.manifest.permissions) - set(granted))
        inst.pending_upgrade = None
        if inst.state == "pending_consent":  # records written before upgrades kept the installation running
            inst.state = "enabled"
        inst.updated_at = self._clock.now()
        inst.history.append(history_entry(self._clock, action, caller.actor, **{"from": old, "to": target.version}))
        apply_config(self._secrets, inst, target, config)
        self._installs.put(inst)
        self._permissions.revoke_all(inst.installation_id)
        self._permissions.grant(
            inst.installation_id, granted, by=caller.actor, version=target.version, at=inst.updated_at
        )
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            f"plugin.{action}",
            inst.installation_id,
            "success",
            **{"from": old, "to": target.version, "granted": granted},
        )
        data = {"from": old, "to": target.version, "rollback": action == "rollback"}
        for hook in self._hooks:
            hook("plugin.upgraded", inst, data)
        return inst
