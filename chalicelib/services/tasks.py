"""The reference host's tasks: a lifecycle that emits ``task.*`` events, and the ``task.before_run`` hook."""

from __future__ import annotations

import builtins
import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.errors import TaskNotFoundError, TaskStateError
from chalicelib.domain.messages import parse_target
from chalicelib.domain.models import Caller, EventEnvelope, Installation, Task
from chalicelib.domain.outbox import TaskChange
from chalicelib.domain.permissions import Action
from chalicelib.domain.tasks import (
    CompleteTaskRequest,
    CreateTaskRequest,
    FailTaskRequest,
    HookOutcome,
    HookReply,
    TaskPage,
    TaskRun,
)
from chalicelib.ports import (
    Clock,
    HookRunner,
    IdGenerator,
    InstallationRepository,
    SubscriptionRepository,
    TaskRepository,
    TaskWriter,
)
from chalicelib.services.audit import AuditService, Outcome
from chalicelib.services.events import EventService

__all__ = ["BEFORE_RUN", "TaskService"]

log = logging.getLogger(__name__)

BEFORE_RUN = "task.before_run"


class TaskService:
    """Create, list, run, complete and fail tasks of the caller's workspace."""

    def __init__(
        self,
        tasks: TaskRepository,
        writer: TaskWriter,
        subscriptions: SubscriptionRepository,
        installs: InstallationRepository,
        hooks: HookRunner,
        events: EventService,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        *,
        hook_budget_s: float = 2.0,
    ) -> None:
        self._tasks = tasks
        self._writer = writer
        self._subs = subscriptions
        self._installs = installs
        self._hooks = hooks
        self._events = events
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._budget_s = hook_budget_s

    def create(self, caller: Caller, req: CreateTaskRequest) -> Task:
        """A new pending task; emits ``task.created``."""
        self._audit.authorize(caller, Action.MANAGE_TASKS, "task.create", req.title)
        now = self._clock.now()
        task = Task(
            workspace_id=caller.workspace_id,
            task_id=self._ids.new_id(),
            title=req.title,
            data=req.data,
            created_at=now,
            updated_at=now,
        )
        created = self._events.envelope(task.workspace_id, "task.created", _data(task))
        self._commit(caller, "task.create", task, None, [created], title=task.title)
        return task

    def list(self, caller: Caller, *, limit: int = 50, token: str | None = None) -> TaskPage:
        self._audit.authorize(caller, Action.READ_TASKS)
        items, next_token = self._tasks.list(caller.workspace_id, limit=limit, token=token)
        return TaskPage(items=items, next_token=next_token)

    def get(self, caller: Caller, task_id: str) -> Task:
        self._audit.authorize(caller, Action.READ_TASKS)
        return self._find(caller.workspace_id, task_id)

    def run(self, caller: Caller, task_id: str) -> TaskRun:
        """Ask ``task.before_run`` subscribers (inline, within the budget), then start the task or record the veto."""
        self._audit.authorize(caller, Action.MANAGE_TASKS, "task.run", task_id)
        task = self._find(caller.workspace_id, task_id)
        if task.status not in ("pending", "vetoed"):
            raise TaskStateError(f"Task '{task_id}' is {task.status}; only pending or vetoed tasks can run.")
        was = task.status
        outcomes = self.before_run(task)
        vetoes = [o for o in outcomes if o.status == "veto"]
        annotations = [
            {"hook": BEFORE_RUN, "plugin_id": o.plugin_id, "installation_id": o.installation_id, **o.annotations}
            for o in outcomes
            if o.annotations
        ]
        task = task.model_copy(
            update={
                "status": "vetoed" if vetoes else "running",
                "annotations": [*task.annotations, *annotations],
                "updated_at": self._clock.now(),
            }
        )
        if vetoes:
            reasons = "; ".join(f"{v.plugin_id}: {v.reason or 'no reason given'}" for v in vetoes)
            self._commit(caller, "task.run", task, was, [], "denied", vetoed_by=reasons)
        else:
            started = self._events.envelope(task.workspace_id, "task.started", _data(task))
            self._commit(caller, "task.run", task, was, [started])
        return TaskRun(task=task, hooks=outcomes, budget_ms=self._budget_s * 1000)

    def complete(self, caller: Caller, task_id: str, req: CompleteTaskRequest) -> Task:
        """A running task completed; emits ``task.completed``."""
        return self._finish(caller, task_id, "completed", {"result": req.result})

    def fail(self, caller: Caller, task_id: str, req: FailTaskRequest) -> Task:
        """A running task failed; emits ``task.failed``."""
        return self._finish(caller, task_id, "failed", {"reason": req.reason})

    def before_run(self, task: Task) -> builtins.list[HookOutcome]:
        """Call every enabled subscriber of ``task.before_run`` at once; stop waiting when the budget is spent.

        A plugin that is slow, fails, or answers nonsense is reported as ``timeout``/``error`` and ignored:
        only an explicit ``{"veto": true}`` within the budget stops the run.
        """
        installs = self._subscribers(task.workspace_id)
        if not installs:
            return []
        event = self._events.envelope(task.workspace_id, BEFORE_RUN, _data(task))
        start = time.monotonic()
        deadline = start + self._budget_s
        pool = ThreadPoolExecutor(max_workers=min(len(installs), 16), thread_name_prefix="hook")
        futures: dict[Future[dict[str, Any] | None], Installation] = {
            pool.submit(self._hooks.call, inst, event, timeout_s=self._budget_s): inst for inst in installs
        }
        finished: dict[str, tuple[float, Future[dict[str, Any] | None]]] = {}
        pending = set(futures)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for f in done:
                finished[futures[f].installation_id] = ((time.monotonic() - start) * 1000, f)
        # Never wait for stragglers: their threads finish (or time out in the executor) on their own.
        pool.shutdown(wait=False, cancel_futures=True)
        return [self._outcome(inst, finished.get(inst.installation_id)) for inst in installs]

    def _outcome(self, inst: Installation, finished: tuple[float, Future[dict[str, Any] | None]] | None) -> HookOutcome:
        base = {"installation_id": inst.installation_id, "plugin_id": inst.plugin_id}
        if finished is None:
            return HookOutcome(**base, status="timeout", duration_ms=self._budget_s * 1000, reason="over budget")
        ms, future = finished
        exc = future.exception()
        if exc is not None:
            log.warning("hook failed", extra={**base, "error": type(exc).__name__})
            return HookOutcome(**base, status="error", duration_ms=ms, reason=type(exc).__name__)
        try:
            reply = HookReply.model_validate(future.result() or {})
        except ValidationError:
            return HookOutcome(**base, status="error", duration_ms=ms, reason="reply does not match HookReply")
        return HookOutcome(
            **base,
            status="veto" if reply.veto else "ok",
            duration_ms=ms,
            reason=reply.reason,
            annotations=reply.annotations,
        )

    def _subscribers(self, workspace_id: str) -> builtins.list[Installation]:
        found: builtins.list[Installation] = []
        for target in self._subs.targets(workspace_id, BEFORE_RUN):
            parsed = parse_target(target)
            if parsed is None or parsed[0] != "installation":
                continue
            inst = self._installs.get_by_id(workspace_id, parsed[1])
            if inst is not None and inst.state == "enabled":
                found.append(inst)
        return found

    def _finish(self, caller: Caller, task_id: str, status: str, extra: dict[str, Any]) -> Task:
        self._audit.authorize(caller, Action.MANAGE_TASKS, f"task.{status}", task_id)
        task = self._find(caller.workspace_id, task_id)
        if task.status != "running":
            raise TaskStateError(f"Task '{task_id}' is {task.status}; only a running task can be {status}.")
        task = task.model_copy(update={"status": status, "updated_at": self._clock.now()})
        finished = self._events.envelope(task.workspace_id, f"task.{status}", {**_data(task), **extra})
        self._commit(caller, f"task.{status}", task, "running", [finished])
        return task

    def _commit(
        self,
        caller: Caller,
        action: str,
        task: Task,
        expect_status: str | None,
        events: builtins.list[EventEnvelope],
        outcome: Outcome = "success",
        **detail: Any,
    ) -> None:
        """Store the task's change if its status is still ``expect_status`` (TaskStateError otherwise), with its
        audit record and its events in one transaction: no change without its record, no event lost after it."""
        self._audit.record_with(
            caller.workspace_id,
            caller.actor,
            action,
            task.task_id,
            lambda record: self._writer.commit(TaskChange(task, expect_status, record, events)),
            outcome,
            **detail,
        )

    def _find(self, workspace_id: str, task_id: str) -> Task:
        task = self._tasks.get(workspace_id, task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task


def _data(task: Task) -> dict[str, Any]:
    return {"task_id": task.task_id, "title": task.title, "status": task.status, "annotations": task.annotations}
