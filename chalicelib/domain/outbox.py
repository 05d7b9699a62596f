"""What an install, an uninstall and a task's change write, each all or nothing, and how long outbox records
are kept.

An event about a change travels in the same DynamoDB transaction as the change, as a record of the
outbox table; the table's stream carries it to the forwarder (``chalicelib.workers.outbox``), which
publishes it on the bus. A bus that fails delays the event; it is published once the bus is back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain.models import AuditRecord, EventEnvelope, Installation, Task

__all__ = ["OUTBOX_RETENTION_S", "CacheGeneration", "NewInstallation", "RemovedInstallation", "TaskChange"]

# Outbox records expire (DynamoDB TTL) after the stream's own 24 h retention: by then they were forwarded,
# and the record is kept a little longer for whoever investigates a late or missing event.
OUTBOX_RETENTION_S = 2 * 24 * 3600


@dataclass(frozen=True)
class CacheGeneration:
    """A cache generation counter's value (``GenerationStore``): what a cached read was current at."""

    name: str
    value: int


@dataclass(frozen=True)
class NewInstallation:
    """An installation and everything that must exist with it: grants, install count, subscriptions, events,
    and the audit record that says who installed it."""

    installation: Installation
    granted_by: str
    granted_at: datetime
    subscribe_to: list[str] = field(default_factory=list)  # event types the installation receives
    events: list[EventEnvelope] = field(default_factory=list)  # announced through the outbox
    audit: AuditRecord | None = None  # the install's audit record, appended to its workspace's chain with it
    count_install: bool = True  # a development installation is no marketplace install: no count to move
    # The catalog generation the version was resolved at, read from the cache: the write fails with
    # CatalogChangedError, storing nothing, if the generation moved since (a version was yanked, say).
    resolved_at: CacheGeneration | None = None


@dataclass(frozen=True)
class RemovedInstallation:
    """An installation to remove with everything that exists because of it: its grants, its subscriptions, its
    share of the install count; with the ``plugin.uninstalled`` event and the audit record of the removal."""

    installation: Installation
    scopes: list[str] = field(default_factory=list)  # its permission rows, as stored
    unsubscribe_from: list[str] = field(default_factory=list)  # the event types it receives
    events: list[EventEnvelope] = field(default_factory=list)
    audit: AuditRecord | None = None
    count_uninstall: bool = True  # a development installation never counted as an install


@dataclass(frozen=True)
class TaskChange:
    """A task's new state, written only if it still has the state it was read in, with its audit record and the
    events that announce it."""

    task: Task
    expect_status: str | None  # the stored task's status now; None: the task must not exist yet
    audit: AuditRecord | None = None
    events: list[EventEnvelope] = field(default_factory=list)
