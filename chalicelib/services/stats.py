"""Publisher analytics: per-version installs, uninstalls, invocations, errors and duration percentiles."""

from __future__ import annotations

import semver

from chalicelib.domain.errors import PluginNotFoundError
from chalicelib.domain.models import Caller
from chalicelib.domain.permissions import Action
from chalicelib.domain.stats import PluginStats, VersionCounters, version_stats
from chalicelib.ports import PluginRepository, PluginStatsRepository, VersionRepository
from chalicelib.services.audit import AuditService

__all__ = ["StatsService"]


class StatsService:
    """Reads the counters kept where installs and invocations are written; only for the plugin's own publisher."""

    def __init__(
        self, plugins: PluginRepository, versions: VersionRepository, stats: PluginStatsRepository, audit: AuditService
    ) -> None:
        self._plugins = plugins
        self._versions = versions
        self._stats = stats
        self._audit = audit

    def for_plugin(self, caller: Caller, plugin_id: str) -> PluginStats:
        """Figures for every version (zeros before its first install), newest first; another publisher's plugin is
        as invisible as a missing one.

        The figures are sums over every workspace: no workspace id, installation or payload is in them.
        """
        self._audit.authorize(caller, Action.PUBLISH)
        plugin = self._plugins.get(plugin_id)
        if plugin is None or plugin.owner_workspace_id != caller.workspace_id:
            raise PluginNotFoundError(plugin_id)
        # Published versions only: a development upload's version key names its workspace.
        published = [v.version for v in self._versions.list_versions(plugin_id) if v.state != "development"]
        stored = {c.version: c for c in self._stats.for_plugin(plugin_id)}
        counted = {version: stored.get(version) or VersionCounters(version=version) for version in published}
        ordered = sorted(counted.values(), key=lambda c: semver.Version.parse(c.version), reverse=True)
        return PluginStats(plugin_id=plugin_id, versions=[version_stats(c) for c in ordered])
