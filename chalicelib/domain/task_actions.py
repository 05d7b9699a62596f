"""The extension panel of a task: the actions installed plugins offer on it (manifest ``task_actions``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.invocations import InvocationResult
from chalicelib.domain.models import Task

__all__ = ["RunTaskActionRequest", "TaskActionRun", "TaskActionView", "TaskPanel", "action_payload"]


class TaskActionView(BaseModel):
    """One action an enabled installation of the workspace offers on tasks."""

    installation_id: str
    plugin_id: str
    plugin_name: str
    version: str
    action: str = Field(description="The action's name in the manifest.")
    title: str
    description: str = ""


class TaskPanel(BaseModel):
    """A task with the actions the workspace's enabled installations offer on it, in one answer."""

    task: Task
    actions: list[TaskActionView]


class RunTaskActionRequest(BaseModel):
    """``POST /api/tasks/{task_id}/actions``: which installation's action to run on the task."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    installation_id: str = Field(min_length=1, max_length=128)
    action: str = Field(min_length=1, max_length=63)


class TaskActionRun(BaseModel):
    """What running an action did: the recorded invocation (a plugin failure is its status, not an error)."""

    task_id: str
    installation_id: str
    plugin_id: str
    action: str
    invocation: InvocationResult


def action_payload(action: str, task: Task) -> dict[str, Any]:
    """The event the action's entry point receives: the action's name and the task as it is now."""
    return {
        "action": action,
        "task_id": task.task_id,
        "title": task.title,
        "status": task.status,
        "annotations": task.annotations,
    }
