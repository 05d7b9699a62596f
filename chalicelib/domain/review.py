"""Review decisions on a plugin version (the state each one moves it from, and to; the scan rule) and what a
reviewer compares: the permission diff against the previous release."""

from __future__ import annotations

from typing import Literal

import semver

from chalicelib.domain.errors import ConflictError, ScanNotAcknowledgedError, ValidationFailedError
from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models import PermissionDiff, PluginVersion
from chalicelib.domain.scan import ScanReport, not_scanned

__all__ = [
    "Decision",
    "ReviewedState",
    "check_scan_acknowledged",
    "permission_diff",
    "previous_release",
    "reviewed_state",
    "scan_of",
]

Decision = Literal["approve", "reject", "yank"]
ReviewedState = Literal["approved", "rejected", "yanked"]


def reviewed_state(decision: Decision, *, plugin_id: str, version: str, state: str, reason: str) -> ReviewedState:
    """The state ``decision`` moves the version to; ConflictError from the wrong state, ValidationFailedError when
    a reject or yank comes without a reason."""
    allowed_from = {"approve": ("pending",), "reject": ("pending",), "yank": ("approved",)}[decision]
    if state not in allowed_from:
        raise ConflictError(
            f"{plugin_id}@{version} is {state}; only a {' or '.join(allowed_from)} version can be {decision}d.",
            state=state,
        )
    if decision != "approve" and not reason:
        raise ValidationFailedError(f"A reason is required to {decision} a version.")
    new_state: ReviewedState = {
        "approve": "approved",
        "reject": "rejected",
        "yank": "yanked",
    }[decision]  # type: ignore[assignment]
    return new_state


NOT_SCANNED = "This version was published before upload scanning existed: no report was made."


def scan_of(version: PluginVersion) -> ScanReport:
    """The version's scan report; a version without one counts as a failed scan, never as a clean one."""
    return version.scan or not_scanned(NOT_SCANNED)


def check_scan_acknowledged(version: PluginVersion, decision: Decision, acknowledged: bool) -> None:
    """Approving a version whose scan failed needs the reviewer to say so; ScanNotAcknowledgedError otherwise."""
    scan = scan_of(version)
    if decision == "approve" and scan.status == "failed" and not acknowledged:
        raise ScanNotAcknowledgedError(
            f"{version.plugin_id}@{version.version}'s upload scan failed ({scan.reason}). Read the files by hand, "
            'then approve with {"acknowledge_scan_failure": true}.',
            scan_reason=scan.reason,
        )


def previous_release(versions: list[PluginVersion], version: str) -> PluginVersion | None:
    """The highest version below ``version`` that workspaces could install (approved, or approved then yanked)."""
    current = semver.Version.parse(version)
    released = [v for v in versions if v.state in ("approved", "yanked") and semver.Version.parse(v.version) < current]
    return max(released, key=lambda v: semver.Version.parse(v.version), default=None)


def permission_diff(manifest: Manifest, previous: PluginVersion | None) -> PermissionDiff:
    """Scopes, fetchable hosts and subscribed events added or removed since ``previous``."""
    before = previous.manifest if previous else None

    def delta(now: list[str], then: list[str]) -> tuple[list[str], list[str]]:
        return sorted(set(now) - set(then)), sorted(set(then) - set(now))

    scopes = delta(manifest.permissions, before.permissions if before else [])
    hosts = delta(manifest.http.allowed_hosts, before.http.allowed_hosts if before else [])
    events = delta(manifest.events, before.events if before else [])
    return PermissionDiff(
        previous_version=previous.version if previous else None,
        scopes_added=scopes[0],
        scopes_removed=scopes[1],
        hosts_added=hosts[0],
        hosts_removed=hosts[1],
        events_added=events[0],
        events_removed=events[1],
    )
