"""The reference host's tasks."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from chalicelib.adapters.dynamo.base import (
    DocItem,
    TableMeta,
    Translate,
    get_or_none,
    page_start,
    page_token,
)
from chalicelib.domain.models import (
    Task,
)

__all__ = ["DynamoTaskRepository", "TaskItem", "task_item"]


class TaskItem(DocItem):
    class Meta(TableMeta):
        purpose = "tasks"

    workspace_id = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()


def task_item(task: Task) -> TaskItem:
    return TaskItem(task.workspace_id, task.task_id, status=task.status, doc=task.model_dump_json())


class DynamoTaskRepository:
    def get(self, workspace_id: str, task_id: str) -> Task | None:
        with Translate():
            item = get_or_none(TaskItem, workspace_id, task_id)
        return item.load(Task) if item else None

    def put(self, task: Task) -> None:
        with Translate():
            task_item(task).save()

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Task], str | None]:
        with Translate():
            it = TaskItem.query(workspace_id, limit=limit, last_evaluated_key=page_start(token))
            items = [i.load(Task) for i in it]
            lek = it.last_evaluated_key
        return items, page_token(lek) if len(items) == limit else None
