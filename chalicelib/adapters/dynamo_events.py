"""PynamoDB repositories of the events issue: Tasks, Subscriptions, and triggers (in the meta table).

Kept beside ``dynamo.py`` (same item conventions, same error translation); ``bind_event_tables`` is called
by the composition root after ``bind_tables``.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamo import MetaItem, _get_or_none, _Item, _Meta, _start, _token, _Translate, bind_models
from chalicelib.config import Settings
from chalicelib.domain.models import Task
from chalicelib.domain.triggers import Trigger

__all__ = [
    "DynamoSubscriptionRepository",
    "DynamoTaskRepository",
    "DynamoTriggerRepository",
    "bind_event_tables",
]


class TaskItem(_Item):
    class Meta(_Meta):
        purpose = "tasks"

    workspace_id = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()


class SubscriptionItem(Model):
    class Meta(_Meta):
        purpose = "subscriptions"

    # "<workspace_id>#<event_type>": the dispatcher's one Query per event.
    pk = UnicodeAttribute(hash_key=True)
    target = UnicodeAttribute(range_key=True)  # installation#<id> | webhook#<id>


EVENT_MODELS: tuple[type[Model], ...] = (TaskItem, SubscriptionItem)


def bind_event_tables(settings: Settings) -> None:
    """Point the events models at ``plugyard-<stage>-<purpose>`` on the configured endpoint."""
    bind_models(EVENT_MODELS, settings)


class DynamoTaskRepository:
    def get(self, workspace_id: str, task_id: str) -> Task | None:
        with _Translate():
            item = _get_or_none(TaskItem, workspace_id, task_id)
        return item.load(Task) if item else None

    def put(self, task: Task) -> None:
        with _Translate():
            TaskItem(task.workspace_id, task.task_id, status=task.status, doc=task.model_dump_json()).save()

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Task], str | None]:
        with _Translate():
            it = TaskItem.query(workspace_id, limit=limit, last_evaluated_key=_start(token))
            items = [i.load(Task) for i in it]
            lek = it.last_evaluated_key
        return items, _token(lek) if len(items) == limit else None


class DynamoSubscriptionRepository:
    def add(self, workspace_id: str, event_types: list[str], target: str) -> None:
        with _Translate(), SubscriptionItem.batch_write() as batch:
            for t in sorted(set(event_types)):
                batch.save(SubscriptionItem(f"{workspace_id}#{t}", target))

    def remove(self, workspace_id: str, event_types: list[str], target: str) -> None:
        with _Translate(), SubscriptionItem.batch_write() as batch:
            for t in sorted(set(event_types)):
                batch.delete(SubscriptionItem(f"{workspace_id}#{t}", target))

    def targets(self, workspace_id: str, event_type: str) -> list[str]:
        with _Translate():
            return [i.target for i in SubscriptionItem.query(f"{workspace_id}#{event_type}")]


def _trigger_pk(installation_id: str) -> str:
    return f"trigger#{installation_id}"


class DynamoTriggerRepository:
    """Triggers live in the meta table under ``trigger#<installation_id>`` / ``<name>``."""

    def get(self, installation_id: str, name: str) -> Trigger | None:
        with _Translate():
            item = _get_or_none(MetaItem, _trigger_pk(installation_id), name)
        return Trigger.model_validate_json(item.doc) if item and item.doc else None

    def put(self, trigger: Trigger) -> None:
        with _Translate():
            MetaItem(_trigger_pk(trigger.installation_id), trigger.name, doc=trigger.model_dump_json()).save()

    def list(self, installation_id: str) -> list[Trigger]:
        with _Translate():
            return [Trigger.model_validate_json(i.doc) for i in MetaItem.query(_trigger_pk(installation_id)) if i.doc]

    def delete_all(self, installation_id: str) -> None:
        with _Translate(), MetaItem.batch_write() as batch:
            for item in MetaItem.query(_trigger_pk(installation_id)):
                batch.delete(item)
