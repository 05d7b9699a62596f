"""Installations over their life: install with consent, configure, upgrade, roll back, enable, uninstall.

Moving between versions (upgrade, consent, rollback) is InstallationVersions' (install_versions.py).
"""

from __future__ import annotations

import builtins
import hashlib
from dataclasses import replace
from typing import Any

from chalicelib.domain.errors import (
    CatalogChangedError,
    ConflictError,
    InstallationNotFoundError,
    PlugyardError,
    ScopesNotGrantedError,
    VersionNotFoundError,
)
from chalicelib.domain.models import (
    Caller,
    Installation,
    InstallationPage,
    InstallRequest,
    PluginVersion,
    UpdateConfigRequest,
    UpgradeOptions,
    UpgradeRequest,
)
from chalicelib.domain.outbox import NewInstallation, RemovedInstallation
from chalicelib.domain.permissions import Action, check_grant
from chalicelib.domain.upgrades import awaiting_consent
from chalicelib.ports import (
    Clock,
    IdempotencyStore,
    IdGenerator,
    InstallationRepository,
    InstallationWriter,
    Metrics,
    PermissionRepository,
    PluginRepository,
    SecretBox,
)
from chalicelib.services.audit import AuditService, Outcome
from chalicelib.services.events import EventService
from chalicelib.services.install_config import apply_config, secret_fields, validate_config
from chalicelib.services.install_versions import InstallationVersions, LifecycleHook, history_entry
from chalicelib.services.marketplace import MarketplaceService
from chalicelib.services.secret_config import effective_config

__all__ = ["InstallService", "LifecycleHook", "secret_fields", "validate_config"]


class InstallService:
    """Every installation action of a workspace admin, audited."""

    def __init__(
        self,
        marketplace: MarketplaceService,
        plugins: PluginRepository,
        installs: InstallationRepository,
        permissions: PermissionRepository,
        idempotency: IdempotencyStore,
        secrets: SecretBox,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        writer: InstallationWriter,
        events: EventService,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._writer = writer
        self._events = events
        self._marketplace = marketplace
        self._plugins = plugins
        self._installs = installs
        self._permissions = permissions
        self._idempotency = idempotency
        self._secrets = secrets
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self.on_event: list[LifecycleHook] = []
        self._versions = InstallationVersions(marketplace, installs, permissions, secrets, audit, clock, self.on_event)

    # --- install ------------------------------------------------------------------------

    def install(self, caller: Caller, req: InstallRequest, idempotency_key: str | None = None) -> Installation:
        """Install a version, granting scopes; a retried Idempotency-Key returns the first result.

        The installation, its grants, the install count, its subscriptions, its ``plugin.installed`` event
        and its audit record are written together or not at all. A retry with the same Idempotency-Key
        whose first attempt committed finds its own installation and answers with it.
        """
        self._audit.authorize(caller, Action.MANAGE_INSTALLS, "plugin.install", req.plugin_id)
        if not idempotency_key:
            return self._install(caller, req, None)
        result = self._idempotency.run(
            f"{caller.workspace_id}:install:{idempotency_key}",
            req.model_dump(mode="json"),
            lambda: self._install(caller, req, _request_mark(caller, idempotency_key)).model_dump(mode="json"),
        )
        return Installation.model_validate(result)

    def _install(self, caller: Caller, req: InstallRequest, request_mark: str | None) -> Installation:
        self._audit.prefetch(caller.workspace_id)  # its audit record goes with it: read the chain's tail meanwhile
        # The version comes from the catalog this process holds, unread; the transaction checks that the
        # catalog's generation has not moved since. If it has, the version is resolved again, reading it.
        for fresh in (False, True, True):
            try:
                return self._install_at(caller, req, request_mark, fresh=fresh)
            except CatalogChangedError:
                continue
        raise ConflictError("The marketplace changed while installing; retry.", plugin_id=req.plugin_id)

    def _install_at(
        self, caller: Caller, req: InstallRequest, request_mark: str | None, *, fresh: bool
    ) -> Installation:
        target = req.plugin_id
        try:
            resolved = self._marketplace.resolve_version(req.plugin_id, req.version, fresh=fresh)
            version = resolved.version
            target = f"{version.plugin_id}@{version.version}"
            check_grant(req.grant)
            requested = version.manifest.permissions
            missing = sorted(set(requested) - set(req.grant))
            if missing:
                raise ScopesNotGrantedError(missing)
            now = self._clock.now()
            installation = Installation(
                installation_id=self._ids.new_id(),
                workspace_id=caller.workspace_id,
                plugin_id=version.plugin_id,
                version=version.version,
                state="enabled",
                # Only what the version asks for is recorded: a grant cannot widen a plugin's reach.
                granted=sorted(requested),
                installed_at=now,
                installed_by=caller.actor,
                updated_at=now,
                history=[
                    self._event(
                        "install",
                        caller.actor,
                        version=version.version,
                        **({"request": request_mark} if request_mark else {}),
                    )
                ],
            )
            apply_config(self._secrets, installation, version, req.config or {})
            event = self._events.envelope(
                caller.workspace_id,
                "plugin.installed",
                {
                    "installation_id": installation.installation_id,
                    "plugin_id": installation.plugin_id,
                    "version": installation.version,
                },
            )
            change = NewInstallation(
                installation=installation,
                granted_by=caller.actor,
                granted_at=now,
                subscribe_to=sorted(set(version.manifest.events)),
                events=[event],
                resolved_at=resolved.generation,
            )
            try:
                # The audit record travels in the install's own transaction: one round trip, and no
                # installation without its record.
                self._audit.record_with(
                    caller.workspace_id,
                    caller.actor,
                    "plugin.install",
                    installation.installation_id,
                    lambda record: self._writer.create(replace(change, audit=record)),
                    **_installed_detail(installation),
                )
            except ConflictError:
                # A retry of a request whose first attempt committed (its audit record with it) answers that.
                installation = self._same_request(caller.workspace_id, version.plugin_id, request_mark)
        except PlugyardError as exc:
            outcome: Outcome = "denied" if isinstance(exc, ScopesNotGrantedError) else "failed"
            self._audit.record(caller.workspace_id, caller.actor, "plugin.install", target, outcome, reason=exc.code)
            raise
        if self._metrics is not None:
            self._metrics.add("Installs")
        return installation

    def _same_request(self, workspace_id: str, plugin_id: str, request_mark: str | None) -> Installation:
        """The installation an earlier attempt of this very request committed; ConflictError otherwise."""
        existing = self._installs.get(workspace_id, plugin_id)
        first = existing.history[0] if existing and existing.history else {}
        if existing is not None and existing.development:
            raise ConflictError(
                f"'{plugin_id}' runs as a development installation in this workspace (plugyard dev); uninstall it "
                f"first: DELETE /api/installations/{existing.installation_id}.",
                plugin_id=plugin_id,
                installation_id=existing.installation_id,
            )
        if existing is None or request_mark is None or first.get("request") != request_mark:
            raise ConflictError(f"'{plugin_id}' is already installed in this workspace.", plugin_id=plugin_id)
        return existing

    # --- reading ------------------------------------------------------------------------

    def list(self, caller: Caller, *, limit: int = 50, token: str | None = None) -> InstallationPage:
        """The caller's workspace's installations."""
        self._audit.authorize(caller, Action.READ_INSTALLS)
        items, next_token = self._installs.list(caller.workspace_id, limit=limit, token=token)
        return InstallationPage(items=items, next_token=next_token)

    def get(self, caller: Caller, installation_id: str) -> Installation:
        """One installation of the caller's workspace."""
        self._audit.authorize(caller, Action.READ_INSTALLS)
        return self._find(caller.workspace_id, installation_id)

    def effective_config(self, installation: Installation) -> dict[str, Any]:
        """The configuration a plugin runs with: public fields plus decrypted secret fields."""
        return effective_config(self._secrets, installation)

    # --- configuration ------------------------------------------------------------------

    def update_config(self, caller: Caller, installation_id: str, req: UpdateConfigRequest) -> Installation:
        """Replace the configuration; secret fields left out keep their stored values."""
        inst = self._find_for_change(caller, installation_id, "plugin.configure")
        version = self._version_of(inst)
        try:
            apply_config(self._secrets, inst, version, req.config)
        except PlugyardError as exc:
            self._audit.record(
                caller.workspace_id, caller.actor, "plugin.configure", installation_id, "failed", reason=exc.code
            )
            raise
        inst.updated_at = self._clock.now()
        inst.history.append(self._event("configure", caller.actor, version=inst.version))
        self._installs.put(inst)
        self._audit.record(
            caller.workspace_id, caller.actor, "plugin.configure", installation_id, fields=sorted(req.config)
        )
        return inst

    # --- versions (chalicelib/services/install_versions.py) ---------------------------

    def upgrade(self, caller: Caller, installation_id: str, req: UpgradeRequest) -> Installation:
        """Move to another version; new scopes need consent (or ``keep_grants`` to run under the old ones)."""
        return self._versions.upgrade(
            caller, _not_development(self._find_for_change(caller, installation_id, "plugin.upgrade")), req
        )

    def consent(self, caller: Caller, installation_id: str, grant: builtins.list[str]) -> Installation:
        """Grant the scopes a pending upgrade asks for, and apply it."""
        return self._versions.consent(
            caller, _not_development(self._find_for_change(caller, installation_id, "plugin.consent")), grant
        )

    def decline(self, caller: Caller, installation_id: str) -> Installation:
        """Drop the upgrade waiting for consent; the installation keeps its version and grants."""
        return self._versions.decline(caller, self._find_for_change(caller, installation_id, "plugin.upgrade.decline"))

    def upgrade_options(self, caller: Caller, installation_id: str) -> UpgradeOptions:
        """The version an installation runs, where it can upgrade to (with each permission change), its rollback."""
        self._audit.authorize(caller, Action.READ_INSTALLS)
        inst = self._find(caller.workspace_id, installation_id)
        return self._versions.options(inst, self._version_of(inst))

    def rollback(self, caller: Caller, installation_id: str) -> Installation:
        """Return to the version this installation ran before its last upgrade."""
        return self._versions.rollback(
            caller, _not_development(self._find_for_change(caller, installation_id, "plugin.rollback"))
        )

    # --- state --------------------------------------------------------------------------

    def set_enabled(self, caller: Caller, installation_id: str, enabled: bool, reason: str = "") -> Installation:
        """Enable or disable an installation (a disabled one is not invoked or sent events)."""
        action = "plugin.enable" if enabled else "plugin.disable"
        inst = self._find_for_change(caller, installation_id, action)
        if enabled:
            if inst.pending_upgrade is not None and inst.state != "disabled":
                self._refuse_enable_pending(caller, inst)
            version = self._marketplace.get_any_version(inst.plugin_id, inst.version)
            if version is not None and version.state == "yanked":
                raise ConflictError(
                    f"Version {inst.version} was yanked; upgrade or roll back instead of enabling it.",
                    version=inst.version,
                )
        inst.state = "enabled" if enabled else "disabled"
        inst.disabled_reason = None if enabled else (reason or f"disabled by {caller.actor}")
        inst.updated_at = self._clock.now()
        inst.history.append(self._event(action.split(".")[1], caller.actor, reason=reason or None))
        self._installs.put(inst)
        self._audit.record(caller.workspace_id, caller.actor, action, installation_id, reason=reason)
        self._emit("plugin.enabled" if enabled else "plugin.disabled", inst, reason=inst.disabled_reason)
        return inst

    def _refuse_enable_pending(self, caller: Caller, inst: Installation) -> None:
        pending = inst.pending_upgrade
        if pending is None:
            raise RuntimeError("only an installation whose upgrade awaits consent is refused this way")
        self._audit.record(
            caller.workspace_id, caller.actor, "plugin.enable", inst.installation_id, "failed", reason="pending"
        )
        raise awaiting_consent(inst, pending)

    def disable_yanked(self, version: PluginVersion) -> int:
        """Disable every installation on a yanked version, in every workspace; returns how many."""
        reason = f"Version {version.version} was yanked by a reviewer: {version.review_reason or 'no reason given'}"
        count = 0
        for inst in self._installs.list_on_version(version.plugin_id, version.version):
            inst.state = "disabled"
            inst.disabled_reason = reason
            inst.updated_at = self._clock.now()
            inst.history.append(self._event("yanked", version.reviewed_by or "reviewer", reason=reason))
            self._installs.put(inst)
            self._audit.record(
                inst.workspace_id,
                version.reviewed_by or "reviewer",
                "plugin.disable",
                inst.installation_id,
                reason=reason,
            )
            self._emit("plugin.disabled", inst, reason=reason)
            count += 1
        return count

    def uninstall(self, caller: Caller, installation_id: str) -> None:
        """Remove an installation, revoke its grants; hooks delete its data and subscriptions."""
        found = self._find_for_change(caller, installation_id, "plugin.uninstall")
        version = self._marketplace.get_any_version(found.plugin_id, found.version)
        event = self._events.envelope(
            caller.workspace_id,
            "plugin.uninstalled",
            {"installation_id": installation_id, "plugin_id": found.plugin_id, "version": found.version},
        )
        change = RemovedInstallation(
            found,
            scopes=self._permissions.list(installation_id),
            unsubscribe_from=sorted(set(version.manifest.events)) if version else [],
            events=[event],
            count_uninstall=not found.development,  # a development installation never counted as an install
        )
        # The installation, its grants, subscriptions and count, its event and its audit record go together.
        self._audit.record_with(
            caller.workspace_id,
            caller.actor,
            "plugin.uninstall",
            installation_id,
            lambda record: self._writer.remove(replace(change, audit=record)),
            plugin_id=found.plugin_id,
            version=found.version,
        )
        self._emit("plugin.uninstalled", found)  # what lives outside the transaction: data, triggers, deployment

    # --- helpers ------------------------------------------------------------------------

    def _find(self, workspace_id: str, installation_id: str) -> Installation:
        found = self._installs.get_by_id(workspace_id, installation_id)
        if found is None:
            raise InstallationNotFoundError(installation_id)
        return found

    def _find_for_change(self, caller: Caller, installation_id: str, action: str) -> Installation:
        self._audit.authorize(caller, Action.MANAGE_INSTALLS, action, installation_id)
        return self._find(caller.workspace_id, installation_id)

    def _version_of(self, inst: Installation) -> PluginVersion:
        version = self._marketplace.get_any_version(inst.plugin_id, inst.version)
        if version is None:
            raise VersionNotFoundError(inst.plugin_id, inst.version)
        return version

    def _event(self, action: str, actor: str, **detail: Any) -> dict[str, Any]:
        return history_entry(self._clock, action, actor, **detail)

    def _emit(self, event_type: str, inst: Installation, **data: Any) -> None:
        for hook in self.on_event:
            hook(event_type, inst, data)


def _not_development(inst: Installation) -> Installation:
    """Development installations move only by new uploads, never to or from a published version."""
    if inst.development:
        raise ConflictError(
            f"'{inst.installation_id}' is a development installation: upload a new folder "
            "(PUT /api/dev/installations/{plugin_id}, or `plugyard dev`), or uninstall it and install a "
            "published version.",
            installation_id=inst.installation_id,
        )
    return inst


def _installed_detail(installation: Installation) -> dict[str, Any]:
    return {"plugin_id": installation.plugin_id, "version": installation.version, "granted": installation.granted}


def _request_mark(caller: Caller, idempotency_key: str) -> str:
    """What an installation remembers of the request that created it (a digest, not the caller's key)."""
    return hashlib.sha256(f"{caller.workspace_id}:{idempotency_key}".encode()).hexdigest()[:32]
