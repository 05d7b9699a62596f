"""The reference host's task commands, views, and what a ``task.before_run`` hook may answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.models import Task

__all__ = [
    "CompleteTaskRequest",
    "CreateTaskRequest",
    "FailTaskRequest",
    "HookOutcome",
    "HookReply",
    "TaskPage",
    "TaskRun",
]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateTaskRequest(_Command):
    """Create a task in the caller's workspace."""

    title: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class CompleteTaskRequest(_Command):
    """Mark a running task completed."""

    result: dict[str, Any] = Field(default_factory=dict)


class FailTaskRequest(_Command):
    """Mark a running task failed."""

    reason: str = Field(min_length=1, max_length=1000)


class TaskPage(BaseModel):
    """The workspace's tasks."""

    items: list[Task]
    next_token: str | None = None


class HookReply(BaseModel):
    """What a plugin's ``task.before_run`` handler may return (anything else is ignored)."""

    model_config = ConfigDict(extra="ignore")

    veto: bool = False
    reason: str | None = Field(None, max_length=500)
    annotations: dict[str, Any] = Field(default_factory=dict)


class HookOutcome(BaseModel):
    """How one subscribed plugin answered a hook call."""

    installation_id: str
    plugin_id: str
    status: Literal["ok", "veto", "timeout", "error"]
    duration_ms: float
    reason: str | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)


class TaskRun(BaseModel):
    """The result of ``POST /api/tasks/{id}/run``: the task (running or vetoed) and every hook's answer."""

    task: Task
    hooks: list[HookOutcome]
    budget_ms: float
