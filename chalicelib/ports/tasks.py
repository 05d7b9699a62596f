"""The reference host's tasks."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.models import Task
from chalicelib.domain.outbox import TaskChange
from chalicelib.ports.platform import Page

__all__ = ["TaskRepository", "TaskWriter"]


class TaskRepository(Protocol):
    """The reference host's tasks, per workspace."""

    def get(self, workspace_id: str, task_id: str) -> Task | None: ...
    def put(self, task: Task) -> None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Task]: ...


class TaskWriter(Protocol):
    """Writes a task's change with its audit record and its events: all or nothing."""

    def commit(self, change: TaskChange) -> bool:
        """Write it all; TaskStateError if the stored task's status is no longer ``change.expect_status``.

        False, with nothing written, when ``change.audit``'s position in the chain was taken meanwhile.
        """
        ...
