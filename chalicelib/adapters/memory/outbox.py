"""The in-memory twin of the installation writer: the same writes in one process, under a lock."""

from __future__ import annotations

import threading

from chalicelib.domain.errors import CatalogChangedError, ConflictError, InstallationNotFoundError, TaskStateError
from chalicelib.domain.messages import installation_target
from chalicelib.domain.models import AuditRecord
from chalicelib.domain.outbox import NewInstallation, RemovedInstallation, TaskChange
from chalicelib.ports import (
    AuditRepository,
    EventBus,
    GenerationStore,
    InstallationRepository,
    PermissionRepository,
    PluginRepository,
    PluginStatsRepository,
    SubscriptionRepository,
    TaskRepository,
)

__all__ = ["InMemoryInstallationWriter", "InMemoryTaskWriter"]


class InMemoryInstallationWriter:
    """Writes through the in-memory repositories (which cannot fail midway)."""

    def __init__(
        self,
        installs: InstallationRepository,
        permissions: PermissionRepository,
        plugins: PluginRepository,
        subscriptions: SubscriptionRepository,
        bus: EventBus,
        audit: AuditRepository,
        stats: PluginStatsRepository,
        generations: GenerationStore,
    ) -> None:
        self._generations = generations
        self._stats = stats
        self._audit = audit
        self._installs = installs
        self._permissions = permissions
        self._plugins = plugins
        self._subscriptions = subscriptions
        self._bus = bus
        self._lock = threading.Lock()

    def create(self, change: NewInstallation) -> bool:
        inst = change.installation
        with self._lock:
            moved = change.resolved_at is not None and (
                self._generations.get(change.resolved_at.name) != change.resolved_at.value
            )
            if moved:
                raise CatalogChangedError()
            if self._installs.get(inst.workspace_id, inst.plugin_id) is not None:
                self._installs.create(inst)  # raises the ConflictError, before anything is written
            if not _claimed(self._audit, change.audit):
                return False  # its position was taken: nothing written
            self._installs.create(inst)
            self._permissions.grant(
                inst.installation_id, inst.granted, by=change.granted_by, version=inst.version, at=change.granted_at
            )
            if change.count_install:
                self._plugins.add_installs(inst.plugin_id, 1)
                self._stats.add(inst.plugin_id, inst.version, installs=1)
            self._subscriptions.add(inst.workspace_id, change.subscribe_to, installation_target(inst.installation_id))
            # In memory the outbox and the bus are one: the event is published as the change is made.
            self._bus.publish(change.events)
        return True

    def remove(self, change: RemovedInstallation) -> bool:
        inst = change.installation
        with self._lock:
            if self._installs.get_by_id(inst.workspace_id, inst.installation_id) is None:
                raise InstallationNotFoundError(inst.installation_id)
            if not _claimed(self._audit, change.audit):
                return False  # its position was taken: nothing written
            self._installs.delete(inst)
            self._permissions.revoke_all(inst.installation_id)
            if change.count_uninstall:
                self._plugins.add_installs(inst.plugin_id, -1)
                self._stats.add(inst.plugin_id, inst.version, uninstalls=1)
            self._subscriptions.remove(
                inst.workspace_id, change.unsubscribe_from, installation_target(inst.installation_id)
            )
            self._bus.publish(change.events)
        return True


class InMemoryTaskWriter:
    """The in-memory twin of the task writer: the task if its status is still the one read, its record, its events."""

    def __init__(self, tasks: TaskRepository, audit: AuditRepository, bus: EventBus) -> None:
        self._tasks = tasks
        self._audit = audit
        self._bus = bus
        self._lock = threading.Lock()

    def commit(self, change: TaskChange) -> bool:
        task = change.task
        with self._lock:
            stored = self._tasks.get(task.workspace_id, task.task_id)
            if (stored.status if stored else None) != change.expect_status:
                raise TaskStateError(f"Task '{task.task_id}' changed meanwhile; read it again.", task_id=task.task_id)
            if not _claimed(self._audit, change.audit):
                return False  # its position was taken: nothing written
            self._tasks.put(task)
            self._bus.publish(change.events)
        return True


def _claimed(audit: AuditRepository, record: AuditRecord | None) -> bool:
    """Append the change's audit record, if it has one; False when its position in the chain was taken."""
    if record is None:
        return True
    try:
        audit.append(record)
    except ConflictError:
        return False
    return True
