"""The extension panel: which actions the workspace's installed plugins offer on a task, and running one."""

from __future__ import annotations

from chalicelib.domain.errors import TaskActionNotFoundError, TaskNotFoundError
from chalicelib.domain.manifest import TaskAction
from chalicelib.domain.models import Caller, Installation, Task
from chalicelib.domain.pagination import every_item
from chalicelib.domain.permissions import Action
from chalicelib.domain.task_actions import (
    RunTaskActionRequest,
    TaskActionRun,
    TaskActionView,
    TaskPanel,
    action_payload,
)
from chalicelib.ports import InstallationRepository, TaskRepository, VersionRepository
from chalicelib.services.audit import AuditService
from chalicelib.services.invocations import InvocationService

__all__ = ["TaskActionService"]


class TaskActionService:
    """Lists the task actions of enabled installations (from their installed version's manifest) and runs one."""

    def __init__(
        self,
        tasks: TaskRepository,
        installs: InstallationRepository,
        versions: VersionRepository,
        invocations: InvocationService,
        audit: AuditService,
    ) -> None:
        self._tasks = tasks
        self._installs = installs
        self._versions = versions
        self._invocations = invocations
        self._audit = audit

    def panel(self, caller: Caller, task_id: str) -> TaskPanel:
        """The task and every action the workspace's enabled installations offer on it."""
        self._audit.authorize(caller, Action.READ_TASKS)
        task = self._task(caller.workspace_id, task_id)
        installs = self._installations(caller.workspace_id)
        views = [
            _view(inst, name, action)
            for inst in sorted(installs, key=lambda i: i.plugin_id)
            if inst.state == "enabled"
            for name, action in self._offered(inst)
        ]
        return TaskPanel(task=task, actions=views)

    def run(self, caller: Caller, task_id: str, req: RunTaskActionRequest) -> TaskActionRun:
        """Run one action on the task now: its entry point gets the task; the invocation is recorded."""
        self._audit.authorize(caller, Action.INVOKE, "task.action", task_id)
        task = self._task(caller.workspace_id, task_id)
        inst = self._installs.get_by_id(caller.workspace_id, req.installation_id)
        action = None if inst is None else dict(self._offered(inst)).get(req.action)
        if inst is None or action is None:
            raise TaskActionNotFoundError(req.installation_id, req.action)
        result = self._invocations.run(
            inst,
            entrypoint=action[1].entrypoint,
            payload=action_payload(req.action, task),
            trigger="api",
            actor=caller.actor,
        )
        self._audit.record(
            caller.workspace_id,
            caller.actor,
            "task.action",
            task_id,
            installation_id=inst.installation_id,
            plugin_id=inst.plugin_id,
            task_action=req.action,
            invocation_id=result.invocation_id,
            status=result.status,
        )
        return TaskActionRun(
            task_id=task_id,
            installation_id=inst.installation_id,
            plugin_id=inst.plugin_id,
            action=req.action,
            invocation=result,
        )

    def _offered(self, inst: Installation) -> list[tuple[str, tuple[str, TaskAction]]]:
        """(action name, (plugin name, action)) for every action of the installed version's manifest."""
        version = self._versions.get(inst.plugin_id, inst.version)
        if version is None:
            return []
        return [(a.name, (version.manifest.name, a)) for a in version.manifest.task_actions]

    def _installations(self, workspace_id: str) -> list[Installation]:
        """Every installation of the workspace, page after page (one page for nearly every workspace)."""
        return list(every_item(lambda token: self._installs.list(workspace_id, limit=100, token=token)))

    def _task(self, workspace_id: str, task_id: str) -> Task:
        task = self._tasks.get(workspace_id, task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task


def _view(inst: Installation, name: str, offered: tuple[str, TaskAction]) -> TaskActionView:
    plugin_name, action = offered
    return TaskActionView(
        installation_id=inst.installation_id,
        plugin_id=inst.plugin_id,
        plugin_name=plugin_name,
        version=inst.version,
        action=name,
        title=action.title,
        description=action.description,
    )
