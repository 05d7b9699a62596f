"""An upgrade waiting for an admin's consent to new scopes: what it asks for, and why enabling around it is refused."""

from __future__ import annotations

import json
from datetime import datetime

from chalicelib.domain.errors import UpgradeAwaitsConsentError
from chalicelib.domain.models import Installation, PendingUpgrade, PluginVersion, ScopeChange
from chalicelib.domain.permissions import describe_scope

__all__ = ["awaiting_consent", "pending_upgrade"]


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
