"""The transactional outbox: events written beside the change they announce, forwarded from the table's stream.

``DynamoOutbox`` is the EventBus the services publish to: it stores each envelope as an outbox record.
``DynamoInstallationWriter`` writes a new installation, its grants, the plugin's install count, its
subscriptions and its ``plugin.installed`` record in one TransactWriteItems. The outbox table's stream
(NEW_IMAGE) feeds ``chalicelib.workers.outbox``, which publishes each record's envelope to EventBridge.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.base import TableMeta
from chalicelib.adapters.dynamo.installs import DynamoInstallationRepository, InstallationItem, PermissionItem
from chalicelib.adapters.dynamo.plugins import PluginItem
from chalicelib.adapters.dynamo.subscriptions import SubscriptionItem
from chalicelib.domain.errors import ConflictError, DependencyUnavailableError
from chalicelib.domain.messages import installation_target
from chalicelib.domain.models import EventEnvelope
from chalicelib.domain.outbox import OUTBOX_RETENTION_S, NewInstallation

__all__ = ["DynamoInstallationWriter", "DynamoOutbox", "OutboxItem", "envelope_of_image"]


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

    def create(self, change: NewInstallation) -> None:
        inst = change.installation
        at = change.granted_at.isoformat()
        target = installation_target(inst.installation_id)
        # The models share one endpoint and credentials: any model's connection carries the transaction.
        with _translate(inst.plugin_id), TransactWrite(connection=InstallationItem._get_connection().connection) as tx:
            tx.save(DynamoInstallationRepository._item(inst), condition=InstallationItem.workspace_id.does_not_exist())
            for scope in inst.granted:
                tx.save(
                    PermissionItem(
                        inst.installation_id, scope, granted_by=change.granted_by, granted_at=at, version=inst.version
                    )
                )
            tx.update(PluginItem(inst.plugin_id), actions=[PluginItem.install_count.add(1)])
            for event_type in sorted(set(change.subscribe_to)):
                tx.save(SubscriptionItem(f"{inst.workspace_id}#{event_type}", target))
            for event in change.events:
                tx.save(outbox_item(event))


class _translate:
    """TransactWriteError → ConflictError (already installed) or DependencyUnavailableError."""

    def __init__(self, plugin_id: str) -> None:
        self._plugin_id = plugin_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, TransactWriteError):
            reasons = [r.code for r in exc.cancellation_reasons if r is not None]
            if "ConditionalCheckFailed" in reasons:
                raise ConflictError(
                    f"'{self._plugin_id}' is already installed in this workspace.", plugin_id=self._plugin_id
                ) from exc
            raise DependencyUnavailableError("The installation could not be stored; retry shortly.") from exc
        if isinstance(exc, PynamoDBException):
            raise DependencyUnavailableError("The installation could not be stored; retry shortly.") from exc
