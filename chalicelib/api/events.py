"""Event routes: a workspace publishes its own events; tasks of the reference host; inbound triggers."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import PAGING, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.events import EventAccepted, PublishEventRequest
from chalicelib.domain.models import Task
from chalicelib.domain.task_actions import RunTaskActionRequest, TaskActionRun, TaskPanel
from chalicelib.domain.tasks import CompleteTaskRequest, CreateTaskRequest, FailTaskRequest, TaskPage, TaskRun
from chalicelib.domain.triggers import TRIGGER_SECRET_HEADER, CreateTriggerRequest, TriggerCreated, TriggerList

bp = Blueprint(__name__)


@route(
    bp,
    "/api/events",
    "POST",
    summary="Publish a workspace event (type workspace.<name>) to its subscribers",
    tag="Events",
    status=202,
    body=PublishEventRequest,
    response=EventAccepted,
    errors=[400, 401, 403, 422, 503],
)
def publish_event(r: RequestContext) -> EventAccepted:
    return services().events.publish(r.caller, r.body(PublishEventRequest))


# --- tasks --------------------------------------------------------------------------------------------


@route(
    bp,
    "/api/tasks",
    "POST",
    summary="Create a task (emits task.created)",
    tag="Tasks",
    status=201,
    body=CreateTaskRequest,
    response=Task,
    errors=[400, 401, 403, 422],
)
def create_task(r: RequestContext) -> Task:
    return services().tasks.create(r.caller, r.body(CreateTaskRequest))


@route(bp, "/api/tasks", "GET", summary="The workspace's tasks", tag="Tasks", response=TaskPage, query=PAGING)
def list_tasks(r: RequestContext) -> TaskPage:
    return services().tasks.list(r.caller, limit=r.limit(), token=r.page_token())


@route(bp, "/api/tasks/{task_id}", "GET", summary="One task", tag="Tasks", response=Task, errors=[401, 403, 404])
def get_task(r: RequestContext, task_id: str) -> Task:
    return services().tasks.get(r.caller, task_id)


@route(
    bp,
    "/api/tasks/{task_id}/panel",
    "GET",
    summary="A task with the actions the workspace's enabled plugins offer on it (their manifests' task_actions)",
    tag="Tasks",
    response=TaskPanel,
    errors=[401, 403, 404],
)
def task_panel(r: RequestContext, task_id: str) -> TaskPanel:
    return services().task_actions.panel(r.caller, task_id)


@route(
    bp,
    "/api/tasks/{task_id}/actions",
    "POST",
    summary="Run a plugin's task action on the task now; a plugin failure is a recorded status, not an error",
    tag="Tasks",
    body=RunTaskActionRequest,
    response=TaskActionRun,
    errors=[400, 401, 403, 404, 409, 413, 422, 429],
)
def run_task_action(r: RequestContext, task_id: str) -> TaskActionRun:
    return services().task_actions.run(r.caller, task_id, r.body(RunTaskActionRequest))


@route(
    bp,
    "/api/tasks/{task_id}/run",
    "POST",
    summary="Run a task: task.before_run plugins may annotate or veto within the hook budget (emits task.started)",
    tag="Tasks",
    response=TaskRun,
    errors=[401, 403, 404, 409],
)
def run_task(r: RequestContext, task_id: str) -> TaskRun:
    return services().tasks.run(r.caller, task_id)


@route(
    bp,
    "/api/tasks/{task_id}/complete",
    "POST",
    summary="Complete a running task (emits task.completed)",
    tag="Tasks",
    body=CompleteTaskRequest,
    optional_body=True,
    response=Task,
    errors=[401, 403, 404, 409, 422],
)
def complete_task(r: RequestContext, task_id: str) -> Task:
    req = r.body(CompleteTaskRequest) if r.raw_body_present() else CompleteTaskRequest()
    return services().tasks.complete(r.caller, task_id, req)


@route(
    bp,
    "/api/tasks/{task_id}/fail",
    "POST",
    summary="Fail a running task (emits task.failed)",
    tag="Tasks",
    body=FailTaskRequest,
    response=Task,
    errors=[401, 403, 404, 409, 422],
)
def fail_task(r: RequestContext, task_id: str) -> Task:
    return services().tasks.fail(r.caller, task_id, r.body(FailTaskRequest))


# --- triggers -----------------------------------------------------------------------------------------


@route(
    bp,
    "/api/installations/{installation_id}/triggers",
    "POST",
    summary="Expose a named inbound trigger; its secret is shown once",
    tag="Triggers",
    status=201,
    body=CreateTriggerRequest,
    response=TriggerCreated,
    errors=[401, 403, 404, 409, 422],
)
def create_trigger(r: RequestContext, installation_id: str) -> TriggerCreated:
    return services().triggers.create(r.caller, installation_id, r.body(CreateTriggerRequest))


@route(
    bp,
    "/api/installations/{installation_id}/triggers",
    "GET",
    summary="The installation's triggers (never their secrets)",
    tag="Triggers",
    response=TriggerList,
    errors=[401, 403, 404],
)
def list_triggers(r: RequestContext, installation_id: str) -> TriggerList:
    return services().triggers.list(r.caller, installation_id)


@route(
    bp,
    "/api/installations/{installation_id}/triggers/{name}/rotate",
    "POST",
    summary="Replace a trigger's secret (the old one stops working at once); the new one is shown once",
    tag="Triggers",
    response=TriggerCreated,
    errors=[401, 403, 404],
)
def rotate_trigger(r: RequestContext, installation_id: str, name: str) -> TriggerCreated:
    return services().triggers.rotate(r.caller, installation_id, name)


@route(
    bp,
    "/api/triggers/{installation_id}/{name}",
    "POST",
    summary=f"Call an inbound trigger (header {TRIGGER_SECRET_HEADER}); becomes plugin.<id>.trigger.<name>",
    tag="Triggers",
    status=202,
    response=EventAccepted,
    auth=False,
    headers=[TRIGGER_SECRET_HEADER],
    errors=[400, 401, 409, 503],
)
def fire_trigger(r: RequestContext, installation_id: str, name: str) -> EventAccepted:
    return services().triggers.fire(installation_id, name, r.header(TRIGGER_SECRET_HEADER), r.raw_body())
