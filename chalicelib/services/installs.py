"""Installing plugins into a workspace, with consent to their scopes."""

from __future__ import annotations

from typing import Any

import jsonschema

from chalicelib.domain.errors import (
    InstallationNotFoundError,
    InvalidConfigError,
    PluginNotFoundError,
    PlugyardError,
    ScopesNotGrantedError,
    ValidationFailedError,
    VersionNotFoundError,
)
from chalicelib.domain.models import Caller, Installation, InstallationPage, InstallRequest
from chalicelib.domain.permissions import Action, unknown_scopes
from chalicelib.ports import (
    Clock,
    IdempotencyStore,
    IdGenerator,
    InstallationRepository,
    PermissionRepository,
    PluginRepository,
)
from chalicelib.services.audit import AuditService, Outcome
from chalicelib.services.marketplace import MarketplaceService

__all__ = ["InstallService", "validate_config"]


def validate_config(schema: dict[str, Any], config: dict[str, Any]) -> None:
    """Raise InvalidConfigError listing every way ``config`` breaks ``schema``."""
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        raise InvalidConfigError(
            "The configuration does not match the plugin's config schema.",
            errors=[{"loc": "/".join(str(p) for p in e.path) or "(root)", "msg": e.message} for e in errors],
        )


class InstallService:
    """Install, list and uninstall plugins in the caller's workspace."""

    def __init__(
        self,
        marketplace: MarketplaceService,
        plugins: PluginRepository,
        installs: InstallationRepository,
        permissions: PermissionRepository,
        idempotency: IdempotencyStore,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._marketplace = marketplace
        self._plugins = plugins
        self._installs = installs
        self._permissions = permissions
        self._idempotency = idempotency
        self._audit = audit
        self._clock = clock
        self._ids = ids

    def install(self, caller: Caller, req: InstallRequest, idempotency_key: str | None = None) -> Installation:
        """Install a version, granting scopes; a retried Idempotency-Key returns the first result."""
        self._audit.authorize(caller, Action.MANAGE_INSTALLS, "plugin.install", req.plugin_id)
        if not idempotency_key:
            return self._install(caller, req)
        result = self._idempotency.run(
            f"{caller.workspace_id}:install:{idempotency_key}",
            req.model_dump(mode="json"),
            lambda: self._install(caller, req).model_dump(mode="json"),
        )
        return Installation.model_validate(result)

    def _install(self, caller: Caller, req: InstallRequest) -> Installation:
        target = req.plugin_id
        try:
            if self._plugins.get(req.plugin_id) is None:
                raise PluginNotFoundError(req.plugin_id)
            version = self._marketplace.get_version(req.plugin_id, req.version)
            if version is None:
                raise VersionNotFoundError(req.plugin_id, req.version or "latest")
            target = f"{version.plugin_id}@{version.version}"
            bad = unknown_scopes(req.grant)
            if bad:
                raise ValidationFailedError(f"Unknown scopes in grant: {', '.join(bad)}.", unknown_scopes=bad)
            requested = version.manifest.permissions
            missing = sorted(set(requested) - set(req.grant))
            if missing:
                raise ScopesNotGrantedError(missing)
            config = req.config or {}
            validate_config(version.manifest.config_schema, config)
            now = self._clock.now()
            installation = Installation(
                installation_id=self._ids.new_id(),
                workspace_id=caller.workspace_id,
                plugin_id=version.plugin_id,
                version=version.version,
                state="enabled",
                # Only what the version asks for is recorded: a grant cannot widen a plugin's reach.
                granted=sorted(requested),
                config=config,
                installed_at=now,
                installed_by=caller.actor,
                updated_at=now,
                history=[{"at": now.isoformat(), "action": "install", "version": version.version, "by": caller.actor}],
            )
            self._installs.create(installation)  # ConflictError if already installed
        except PlugyardError as exc:
            outcome: Outcome = "denied" if isinstance(exc, ScopesNotGrantedError) else "failed"
            self._audit.record(caller.workspace_id, caller.actor, "plugin.install", target, outcome, reason=exc.code)
            raise
        self._permissions.grant(
            installation.installation_id, installation.granted, by=caller.actor, version=installation.version, at=now
        )
        self._plugins.add_installs(installation.plugin_id, 1)
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            "plugin.install",
            installation.installation_id,
            plugin_id=installation.plugin_id,
            version=installation.version,
            granted=installation.granted,
        )
        return installation

    def list(self, caller: Caller, *, limit: int = 50, token: str | None = None) -> InstallationPage:
        """The caller's workspace's installations."""
        self._audit.authorize(caller, Action.READ_INSTALLS)
        items, next_token = self._installs.list(caller.workspace_id, limit=limit, token=token)
        return InstallationPage(items=items, next_token=next_token)

    def get(self, caller: Caller, installation_id: str) -> Installation:
        """One installation of the caller's workspace."""
        self._audit.authorize(caller, Action.READ_INSTALLS)
        found = self._installs.get_by_id(caller.workspace_id, installation_id)
        if found is None:
            raise InstallationNotFoundError(installation_id)
        return found

    def uninstall(self, caller: Caller, installation_id: str) -> None:
        """Remove an installation and revoke its grants."""
        self._audit.authorize(caller, Action.MANAGE_INSTALLS, "plugin.uninstall", installation_id)
        found = self._installs.get_by_id(caller.workspace_id, installation_id)
        if found is None:
            raise InstallationNotFoundError(installation_id)
        self._installs.delete(found)
        self._permissions.revoke_all(installation_id)
        self._plugins.add_installs(found.plugin_id, -1)
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            "plugin.uninstall",
            installation_id,
            plugin_id=found.plugin_id,
            version=found.version,
        )
