"""The in-memory twin of the installation writer: the same writes in one process, under a lock."""

from __future__ import annotations

import threading

from chalicelib.domain.messages import installation_target
from chalicelib.domain.outbox import NewInstallation
from chalicelib.ports import (
    EventBus,
    InstallationRepository,
    PermissionRepository,
    PluginRepository,
    SubscriptionRepository,
)

__all__ = ["InMemoryInstallationWriter"]


class InMemoryInstallationWriter:
    """Writes through the in-memory repositories (which cannot fail midway)."""

    def __init__(
        self,
        installs: InstallationRepository,
        permissions: PermissionRepository,
        plugins: PluginRepository,
        subscriptions: SubscriptionRepository,
        bus: EventBus,
    ) -> None:
        self._installs = installs
        self._permissions = permissions
        self._plugins = plugins
        self._subscriptions = subscriptions
        self._bus = bus
        self._lock = threading.Lock()

    def create(self, change: NewInstallation) -> None:
        inst = change.installation
        with self._lock:
            self._installs.create(inst)  # ConflictError before anything else is written
            self._permissions.grant(
                inst.installation_id, inst.granted, by=change.granted_by, version=inst.version, at=change.granted_at
            )
            self._plugins.add_installs(inst.plugin_id, 1)
            self._subscriptions.add(inst.workspace_id, change.subscribe_to, installation_target(inst.installation_id))
            # In memory the outbox and the bus are one: the event is published as the change is made.
            self._bus.publish(change.events)
