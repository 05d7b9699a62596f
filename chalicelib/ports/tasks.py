"""The reference host's tasks."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.models import Task
from chalicelib.ports.platform import Page

__all__ = ["TaskRepository"]


class TaskRepository(Protocol):
    """The reference host's tasks, per workspace."""

    def get(self, workspace_id: str, task_id: str) -> Task | None: ...
    def put(self, task: Task) -> None: ...
    def list(self, workspace_id: str, *, limit: int, token: str | None) -> Page[Task]: ...
