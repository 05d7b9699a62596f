"""The transactional outbox: events written beside the change they announce, forwarded from the table's stream.

``DynamoOutbox`` is the EventBus the services publish to: it stores each envelope as an outbox record.
``DynamoInstallationWriter`` writes a new installation, its grants, the plugin's install count (and its version's,
for publisher analytics), its subscriptions and its ``plugin.installed`` record in one TransactWriteItems, with a
check that the catalog generation the version was resolved at still holds; ``DynamoTaskWriter`` a task's change
(if its status is still the one read) with its ``task.*`` records. Both carry the change's audit record and its
chain head (``commit_with_audit``). The outbox table's stream (NEW_IMAGE) feeds ``chalicelib.workers.outbox``,
which publishes each record's envelope to EventBridge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.audit import add_audit, conditional_failed
from chalicelib.adapters.dynamo.base import TableMeta
from chalicelib.adapters.dynamo.generations import check_generation
from chalicelib.adapters.dynamo.installs import DynamoInstallationRepository, InstallationItem, PermissionItem
from chalicelib.adapters.dynamo.plugins import PluginItem
from chalicelib.adapters.dynamo.stats import stats_key, stats_update
from chalicelib.adapters.dynamo.subscriptions import SubscriptionItem
from chalicelib.adapters.dynamo.tasks import TaskItem, task_item
from chalicelib.domain.errors import (
    CatalogChangedError,
    ConflictError,
    DependencyUnavailableError,
    InstallationNotFoundError,
    TaskStateError,
)
from chalicelib.domain.messages import installation_target
from chalicelib.domain.models import EventEnvelope
from chalicelib.domain.outbox import OUTBOX_RETENTION_S, NewInstallation, RemovedInstallation, TaskChange

__all__ = [
    "DynamoInstallationWriter",
    "DynamoOutbox",
    "DynamoTaskWriter",
    "OutboxItem",
    "commit_with_audit",
    "envelope_of_image",
]


class OutboxItem(Model):
    """One event waiting to be (or already) forwarded to the bus; the stream carries it."""

    class Meta(TableMeta):
        purpose = "outbox"

    event_id = UnicodeAttribute(hash_key=True)
    envelope = UnicodeAttribute()  # the EventEnvelope as JSON, published as the event's detail
    expires_at = NumberAttribute()  # the table's TTL attribute (epoch seconds)


def outbox_item(event: EventEnvelope) -> OutboxItem:
    expires = int(event.time.timestamp()) + OUTBOX_RETENTION_S
    return OutboxItem(event.id, envelope=event.model_dump_json(), expires_at=expires)


def envelope_of_image(image: dict[str, Any]) -> EventEnvelope:
    """The envelope of an outbox record's stream image (DynamoDB JSON: ``{"envelope": {"S": "…"}}``)."""
    return EventEnvelope.model_validate(json.loads(image["envelope"]["S"]))


class DynamoOutbox:
    """EventBus port: each envelope becomes an outbox record; the stream forwarder publishes it."""

    def publish(self, events: list[EventEnvelope]) -> None:
        try:
            if len(events) == 1:
                outbox_item(events[0]).save()
                return
            with OutboxItem.batch_write() as batch:
                for event in events:
                    batch.save(outbox_item(event))
        except PynamoDBException as exc:
            raise DependencyUnavailableError("The event outbox is unreachable; retry shortly.") from exc


class DynamoInstallationWriter:
    """InstallationWriter port: one TransactWriteItems over five tables (at most 100 items)."""

    def create(self, change: NewInstallation) -> bool:
        # The catalog check, when there is one, goes first (PynamoDB sends condition checks before the writes).
        first = 1 if change.resolved_at is not None else 0

        def refused(exc: TransactWriteError) -> None:
            # Which condition failed, by the item's index in the transaction (see _commit).
            if first and conditional_failed(exc, 0):
                raise CatalogChangedError() from exc
            if conditional_failed(exc, first):
                plugin_id = change.installation.plugin_id
                raise ConflictError(f"'{plugin_id}' is already installed in this workspace.", plugin_id=plugin_id)

        return commit_with_audit(
            lambda move_head: self._commit(change, move_head=move_head),
            refused,
            audited=change.audit is not None,
            record_index=first + 1,
            head_index=first + _head_index(change),
            unavailable="The installation could not be stored; retry shortly.",
        )

    def remove(self, change: RemovedInstallation) -> bool:
        def refused(exc: TransactWriteError) -> None:
            if conditional_failed(exc, 0):  # the installation, item 0: removed meanwhile
                raise InstallationNotFoundError(change.installation.installation_id) from exc

        deletes = 1 + len(change.scopes) + len(set(change.unsubscribe_from))
        return commit_with_audit(
            lambda move_head: self._remove(change, move_head=move_head),
            refused,
            audited=change.audit is not None,
            record_index=deletes,
            head_index=deletes + 1 + len(change.events),
            unavailable="The installation could not be removed; retry shortly.",
        )

    @staticmethod
    def _remove(change: RemovedInstallation, *, move_head: bool) -> None:
        inst = change.installation
        target = installation_target(inst.installation_id)
        with TransactWrite(connection=InstallationItem._get_connection().connection) as tx:
            # Sent as all deletes, then all puts, then all updates (PynamoDB's order): the installation is item 0,
            # the audit record the first put, its head the first update.
            tx.delete(
                InstallationItem(inst.workspace_id, inst.plugin_id), condition=InstallationItem.workspace_id.exists()
            )
            for scope in change.scopes:
                tx.delete(PermissionItem(inst.installation_id, scope))
            for event_type in sorted(set(change.unsubscribe_from)):
                tx.delete(SubscriptionItem(f"{inst.workspace_id}#{event_type}", target))
            if change.audit is not None:
                add_audit(tx, change.audit, move_head=move_head)
            for event in change.events:
                tx.save(outbox_item(event))
            if change.count_uninstall:
                tx.update(PluginItem(inst.plugin_id), actions=[PluginItem.install_count.add(-1)])
                tx.update(stats_key(inst.plugin_id, inst.version), actions=stats_update(uninstalls=1))

    @staticmethod
    def _commit(change: NewInstallation, *, move_head: bool) -> None:
        inst = change.installation
        at = change.granted_at.isoformat()
        target = installation_target(inst.installation_id)
        # The models share one endpoint and credentials: any model's connection carries the transaction.
        with TransactWrite(connection=InstallationItem._get_connection().connection) as tx:
            if change.resolved_at is not None:
                check_generation(tx, change.resolved_at)
            # Sent as all puts, then all updates (PynamoDB's order): the installation is item 0, the audit record
            # item 1, and the head the first update (_head_index), which is how create tells them apart.
            tx.save(DynamoInstallationRepository._item(inst), condition=InstallationItem.workspace_id.does_not_exist())
            if change.audit is not None:
                add_audit(tx, change.audit, move_head=move_head)
            for scope in inst.granted:
                tx.save(
                    PermissionItem(
                        inst.installation_id, scope, granted_by=change.granted_by, granted_at=at, version=inst.version
                    )
                )
            if change.count_install:
                tx.update(PluginItem(inst.plugin_id), actions=[PluginItem.install_count.add(1)])
                tx.update(stats_key(inst.plugin_id, inst.version), actions=stats_update(installs=1))
            for event_type in sorted(set(change.subscribe_to)):
                tx.save(SubscriptionItem(f"{inst.workspace_id}#{event_type}", target))
            for event in change.events:
                tx.save(outbox_item(event))


def _head_index(change: NewInstallation) -> int:
    """Position of the audit head's update in the transaction: after every put (see ``_commit``)."""
    inst = change.installation
    return 1 + (change.audit is not None) + len(inst.granted) + len(set(change.subscribe_to)) + len(change.events)


class DynamoTaskWriter:
    """TaskWriter port: the task (conditional on its status), its audit record and head, its outbox records in
    one TransactWriteItems."""

    def commit(self, change: TaskChange) -> bool:
        def refused(exc: TransactWriteError) -> None:
            if conditional_failed(exc, 0):  # the task, item 0: its status moved since it was read
                task_id = change.task.task_id
                raise TaskStateError(f"Task '{task_id}' changed meanwhile; read it again.", task_id=task_id)

        return commit_with_audit(
            lambda move_head: self._commit(change, move_head=move_head),
            refused,
            audited=change.audit is not None,
            record_index=1,
            head_index=2 + len(change.events),
            unavailable="The task could not be stored; retry shortly.",
        )

    @staticmethod
    def _commit(change: TaskChange, *, move_head: bool) -> None:
        task = change.task
        expected = (
            TaskItem.workspace_id.does_not_exist()
            if change.expect_status is None
            else TaskItem.status == change.expect_status
        )
        with TransactWrite(connection=TaskItem._get_connection().connection) as tx:
            # All puts, then the head's update (PynamoDB's order): the task is item 0, the audit record item 1.
            tx.save(task_item(task), condition=expected)
            if change.audit is not None:
                add_audit(tx, change.audit, move_head=move_head)
            for event in change.events:
                tx.save(outbox_item(event))


def commit_with_audit(
    commit: Callable[[bool], None],
    refused: Callable[[TransactWriteError], None],
    *,
    audited: bool,
    record_index: int,
    head_index: int,
    unavailable: str,
) -> bool:
    """Run a transaction that carries an audit record and its head's update (``commit(move_head)``).

    ``refused`` raises the writer's own error when one of its conditions failed. False, with nothing written,
    when the record's position was taken (its audit chain moved on: the caller drafts it again). When the
    head is past the record (records were removed under it), the transaction is sent once more without
    the head's update: the record still claims its position, and the head stays where it is, for verify to
    report.
    """
    for move_head in (True, False):
        try:
            commit(move_head)
            return True
        except TransactWriteError as exc:
            refused(exc)
            if audited and conditional_failed(exc, record_index):
                return False
            if audited and move_head and conditional_failed(exc, head_index):
                continue
            raise DependencyUnavailableError(unavailable) from exc
        except PynamoDBException as exc:
            raise DependencyUnavailableError(unavailable) from exc
    raise DependencyUnavailableError(unavailable)
