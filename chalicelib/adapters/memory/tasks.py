"""The reference host's tasks."""

from __future__ import annotations

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.models import (
    Task,
)

__all__ = ["InMemoryTaskRepository"]


class InMemoryTaskRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Task] = {}

    def get(self, workspace_id: str, task_id: str) -> Task | None:
        return self.items.get((workspace_id, task_id))

    def put(self, task: Task) -> None:
        self.items[(task.workspace_id, task.task_id)] = task

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Task], str | None]:
        items = [t for (ws, _), t in sorted(self.items.items()) if ws == workspace_id]
        return page(items, lambda t: {"workspace_id": t.workspace_id, "task_id": t.task_id}, limit, token)
