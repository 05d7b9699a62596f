"""Moving an installation between versions, as an admin sees it: what a version adds and removes against the
one running and its grants, an upgrade waiting for consent to new scopes, and why enabling around it is refused."""

from __future__ import annotations

import json
from datetime import datetime

from chalicelib.domain.errors import UpgradeAwaitsConsentError
from chalicelib.domain.models import Installation, PendingUpgrade, PluginVersion, ScopeChange, VersionChange
from chalicelib.domain.permissions import describe_scope

__all__ = ["awaiting_consent", "pending_upgrade", "rollback_target", "version_change"]


def pending_upgrade(target: PluginVersion, new_scopes: list[str], now: datetime) -> PendingUpgrade:
    """The upgrade to ``target``, waiting for consent to ``new_scopes``, each described in plain words."""
    notes = target.manifest.permission_notes
    return PendingUpgrade(
        version=target.version,
        new_scopes=[ScopeChange(scope=s, description=describe_scope(s), note=notes.get(s)) for s in new_scopes],
        requested_at=now,
    )


def awaiting_consent(inst: Installation, pending: PendingUpgrade) -> UpgradeAwaitsConsentError:
    """The refusal of an enable while ``pending`` waits: which version runs, and the call that applies the upgrade."""
    scopes = [change.scope for change in pending.new_scopes]
    return UpgradeAwaitsConsentError(
        f"Installation '{inst.installation_id}' runs version {inst.version}; enabling applies nothing. "
        f"The upgrade to {pending.version} waits for consent to {', '.join(scopes)}: "
        f"POST /api/installations/{inst.installation_id}/consent with "
        f'{{"grant": {json.dumps(scopes)}}} to apply it.',
        version=inst.version,
        pending_version=pending.version,
        new_scopes=scopes,
        consent=f"/api/installations/{inst.installation_id}/consent",
    )


def version_change(inst: Installation, current: PluginVersion, target: PluginVersion) -> VersionChange:
    """What moving ``inst`` from ``current`` to ``target`` changes: scopes against its grants (what consent would
    add, what the move drops), fetchable hosts and subscribed events against the version it runs."""
    notes = target.manifest.permission_notes

    def scopes(names: set[str]) -> list[ScopeChange]:
        return [ScopeChange(scope=s, description=describe_scope(s), note=notes.get(s)) for s in sorted(names)]

    def delta(now: list[str], then: list[str]) -> tuple[list[str], list[str]]:
        return sorted(set(now) - set(then)), sorted(set(then) - set(now))

    requested, granted = set(target.manifest.permissions), set(inst.granted)
    hosts = delta(target.manifest.http.allowed_hosts, current.manifest.http.allowed_hosts)
    events = delta(target.manifest.events, current.manifest.events)
    return VersionChange(
        version=target.version,
        changelog=target.manifest.changelog,
        scopes_added=scopes(requested - granted),
        scopes_removed=scopes(granted - requested),
        hosts_added=hosts[0],
        hosts_removed=hosts[1],
        events_added=events[0],
        events_removed=events[1],
        needs_consent=bool(requested - granted),
    )


def rollback_target(inst: Installation) -> str | None:
    """The version ``inst`` ran before its last upgrade or rollback; None when it never moved."""
    moves = (h.get("from") for h in reversed(inst.history) if h.get("action") in ("upgrade", "rollback"))
    previous = next(moves, None)
    return str(previous) if previous else None
