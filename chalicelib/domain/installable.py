"""Which published version an install or an upgrade gets: approved, supporting this host, matching the spec."""

from __future__ import annotations

from chalicelib.domain.errors import InvalidRequestError, PluginNotFoundError, VersionNotFoundError
from chalicelib.domain.models import PluginVersion
from chalicelib.domain.versions import is_range, pick_latest

__all__ = ["latest_installable", "pick_installable"]


def latest_installable(
    versions: list[PluginVersion], host_version: str, spec: str | None = None
) -> PluginVersion | None:
    """Highest approved version that supports the host (and satisfies ``spec`` when given)."""
    ok = {v.version: v for v in versions if v.installable and v.manifest.supports_host(host_version)}
    best = pick_latest(list(ok), spec)
    return ok[best] if best else None


def pick_installable(
    plugin_id: str, spec: str | None, versions: list[PluginVersion], host_version: str
) -> PluginVersion:
    """The version ``spec`` (exact, a range, or None for the latest) names among a plugin's ``versions``.

    PluginNotFoundError without versions, VersionNotFoundError when none fits, InvalidRequestError for a spec
    that is neither a version nor a range.
    """
    if not versions:
        raise PluginNotFoundError(plugin_id)
    if spec is None or is_range(spec):
        try:
            found = latest_installable(versions, host_version, spec)
        except ValueError as exc:
            raise InvalidRequestError(f"'{spec}' is neither a version nor a version range.") from exc
    else:
        found = next(
            (v for v in versions if v.version == spec and v.installable and v.manifest.supports_host(host_version)),
            None,
        )
    if found is None:
        raise VersionNotFoundError(plugin_id, spec or "latest")
    return found
