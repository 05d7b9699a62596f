"""Publisher analytics: per-version installs, uninstalls, invocations, errors and duration percentiles."""

from __future__ import annotations

import semver

from chalicelib.domain.errors import PluginNotFoundError
from chalicelib.domain.models import Caller
from chalicelib.domain.permissions import Action
from chalicelib.domain.stats import PluginStats, version_stats
from chalicelib.ports import PluginRepository, PluginStatsRepository
from chalicelib.services.audit import AuditService

__all__ = ["StatsService"]


class StatsService:
    """Reads the counters kept where installs and invocations are written; only for the plugin's own publisher."""

    def __init__(self, plugins: PluginRepository, stats: PluginStatsRepository, audit: AuditService) -> None:
        self._plugins = plugins
        self._stats = stats
        self._audit = audit

    def for_plugin(self, caller: Caller, plugin_id: str) -> PluginStats:
        """Figures per version, newest first; another publisher's plugin is as invisible as a missing one.

        The figures are sums over every workspace: no workspace id, installation or payload is in them.
        """
        self._audit.authorize(caller, Action.PUBLISH)
        plugin = self._plugins.get(plugin_id)
        if plugin is None or plugin.owner_workspace_id != caller.workspace_id:
            raise PluginNotFoundError(plugin_id)
        counters = sorted(
            self._stats.for_plugin(plugin_id), key=lambda c: semver.Version.parse(c.version), reverse=True
        )
        return PluginStats(plugin_id=plugin_id, versions=[version_stats(c) for c in counters])
