"""Keeping the Subscriptions table in step with installations and webhooks, and announcing the changes."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.messages import installation_target, webhook_target
from chalicelib.domain.models import Installation, Webhook
from chalicelib.ports import SubscriptionRepository, TriggerRepository, VersionRepository
from chalicelib.services.events import EventService

__all__ = ["SubscriptionService"]


class SubscriptionService:
    """Installations subscribe to their manifest's ``events``; webhooks to their ``event_types``."""

    def __init__(
        self,
        subscriptions: SubscriptionRepository,
        versions: VersionRepository,
        triggers: TriggerRepository,
        events: EventService,
    ) -> None:
        self._subs = subscriptions
        self._versions = versions
        self._triggers = triggers
        self._events = events

    def event_types_of(self, installation: Installation) -> list[str]:
        """The event types (and hooks) the installed version's manifest declares."""
        return self._events_of_version(installation.plugin_id, installation.version)

    def _events_of_version(self, plugin_id: str, version: str) -> list[str]:
        found = self._versions.get(plugin_id, version) if version else None
        return sorted(set(found.manifest.events)) if found else []

    def on_installation_event(self, event_type: str, installation: Installation, detail: dict[str, Any]) -> None:
        """InstallService's lifecycle hook: keep subscriptions in step, then announce the change on the bus."""
        target = installation_target(installation.installation_id)
        ws = installation.workspace_id
        data: dict[str, Any] = {
            "installation_id": installation.installation_id,
            "plugin_id": installation.plugin_id,
            "version": installation.version,
        }
        if event_type in ("plugin.installed", "plugin.enabled"):
            if installation.state == "enabled":
                self._subs.add(ws, self.event_types_of(installation), target)
        elif event_type == "plugin.disabled":
            self._subs.remove(ws, self.event_types_of(installation), target)
        elif event_type == "plugin.uninstalled":
            # Its subscriptions and its event went with the installation, in the uninstall's transaction.
            self._triggers.delete_all(installation.installation_id)
            return
        elif event_type == "plugin.upgraded":
            before = str(detail.get("from") or "")
            data["from_version"] = before
            old = set(self._events_of_version(installation.plugin_id, before))
            new = set(self.event_types_of(installation))
            self._subs.remove(ws, sorted(old - new), target)
            if installation.state == "enabled":
                self._subs.add(ws, sorted(new), target)
        if detail.get("reason"):
            data["reason"] = str(detail["reason"])
        self._events.emit_after_commit(ws, event_type, data)

    def webhook_registered(self, hook: Webhook) -> None:
        self._subs.add(hook.workspace_id, hook.event_types, webhook_target(hook.webhook_id))

    def webhook_deleted(self, hook: Webhook) -> None:
        self._subs.remove(hook.workspace_id, hook.event_types, webhook_target(hook.webhook_id))
