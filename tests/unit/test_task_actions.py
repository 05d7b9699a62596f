"""The extension panel on fakes: task actions from installed manifests, running one, and task.updated."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client
from conftest import manifest

from app import app
from chalicelib.container import reset_services
from chalicelib.domain.errors import InvalidManifestError, TaskActionNotFoundError, TaskNotFoundError
from chalicelib.domain.events import is_subscribable
from chalicelib.domain.manifest import PlatformCaps, parse_manifest
from chalicelib.domain.models import Caller, InstallRequest
from chalicelib.domain.permissions import Role
from chalicelib.domain.task_actions import RunTaskActionRequest
from chalicelib.domain.tasks import CreateTaskRequest
from unit.conftest import World
from unit.test_plugin_runs import RecordingExecutor, world_with

SUMMARIZE = {"name": "summarize", "title": "Summarize", "entrypoint": "main", "description": "A summary now."}


def _installed(
    world: World, plugin_id: str = "summer", scopes: tuple[str, ...] = ("tasks:read",)
) -> tuple[Caller, str]:
    ws = world.workspace("acme")
    admin = world.caller(ws)
    world.publish_manifest(admin, plugin_id, permissions=list(scopes), task_actions=[SUMMARIZE])
    inst = world.services.installs.install(admin, InstallRequest(plugin_id=plugin_id, grant=list(scopes)))
    return admin, inst.installation_id


def test_the_panel_lists_enabled_installations_actions_and_running_one_gives_the_entry_point_the_task() -> None:
    executor = RecordingExecutor({"summary": "Short."})
    world = world_with(executor)
    admin, iid = _installed(world)
    member = world.caller(admin.workspace_id, Role.MEMBER)
    task = world.services.tasks.create(member, CreateTaskRequest(title="Write the guide"))

    panel = world.services.task_actions.panel(member, task.task_id)
    assert panel.task.task_id == task.task_id
    [action] = panel.actions
    assert (action.installation_id, action.plugin_id, action.action, action.title) == (
        iid, "summer", "summarize", "Summarize"
    )  # fmt: skip
    assert action.plugin_name == "Plugin summer" and action.description == "A summary now."

    run = world.services.task_actions.run(
        member, task.task_id, RunTaskActionRequest(installation_id=iid, action="summarize")
    )
    assert run.invocation.status == "succeeded" and run.invocation.result == {"summary": "Short."}
    [request] = executor.requests
    assert request.entrypoint == "handler:main"  # the manifest's target of the action's entry point
    assert request.event == {
        "action": "summarize", "task_id": task.task_id, "title": "Write the guide", "status": "pending",
        "annotations": [],
    }  # fmt: skip
    entries = world.services.audit.list(admin, action="task.action").items
    assert any(e.action == "task.action" and e.target == task.task_id for e in entries)

    # A disabled installation offers nothing.
    world.services.installs.set_enabled(admin, iid, False)
    assert world.services.task_actions.panel(member, task.task_id).actions == []


def test_unknown_actions_tasks_and_other_workspaces_are_not_found() -> None:
    world = world_with(RecordingExecutor())
    admin, iid = _installed(world)
    task = world.services.tasks.create(admin, CreateTaskRequest(title="x"))
    with pytest.raises(TaskActionNotFoundError):
        world.services.task_actions.run(admin, task.task_id, RunTaskActionRequest(installation_id=iid, action="nope"))
    stranger = world.caller(world.workspace())
    with pytest.raises(TaskNotFoundError):
        world.services.task_actions.panel(stranger, task.task_id)
    own = world.services.tasks.create(stranger, CreateTaskRequest(title="mine"))
    with pytest.raises(TaskActionNotFoundError):  # another workspace's installation is invisible
        world.services.task_actions.run(
            stranger, own.task_id, RunTaskActionRequest(installation_id=iid, action="summarize")
        )


def test_the_routes_answer_the_panel_and_problems() -> None:
    world = world_with(RecordingExecutor({"ok": True}))
    admin, iid = _installed(world)
    key = world.services.auth.issue_key(admin.workspace_id, Role.MEMBER, "m", created_by="operator").key
    task = world.services.tasks.create(admin, CreateTaskRequest(title="x"))
    reset_services(world.services)
    try:
        with Client(app) as client:
            h = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            panel = client.http.get(f"/api/tasks/{task.task_id}/panel", headers=h)
            assert panel.status_code == 200 and json.loads(panel.body)["actions"][0]["action"] == "summarize"
            body = json.dumps({"installation_id": iid, "action": "summarize"})
            ran = client.http.post(f"/api/tasks/{task.task_id}/actions", headers=h, body=body)
            assert ran.status_code == 200 and json.loads(ran.body)["invocation"]["status"] == "succeeded"
            missing = client.http.post(
                f"/api/tasks/{task.task_id}/actions",
                headers=h,
                body=json.dumps({"installation_id": iid, "action": "x"}),
            )
            assert missing.status_code == 404 and json.loads(missing.body)["type"].endswith("/task-action-not-found")
            assert client.http.get("/api/tasks/nope/panel", headers=h).status_code == 404
    finally:
        reset_services(None)


def test_a_plugin_changing_a_task_emits_task_updated_which_plugins_cannot_subscribe_to() -> None:
    world = world_with(RecordingExecutor())
    admin, iid = _installed(world, scopes=("tasks:read", "tasks:write"))
    inst = world.services.installs.get(admin, iid)
    task = world.services.tasks.create(admin, CreateTaskRequest(title="x"))
    version = world.adapters.versions.get(inst.plugin_id, inst.version)
    assert version is not None
    broker = world.services.broker.for_installation(inst, version.manifest, inst.granted, invocation_id="inv-1")
    note = [{"plugin": "summer", "summary": "Done."}]
    broker("tasks.update", {"task_id": task.task_id, "changes": {"annotations": note}})
    broker("tasks.update", {"task_id": task.task_id, "changes": {"annotations": note}})  # no change, no event
    updated = [e for e in world.adapters.bus.published if e.type == "task.updated"]  # type: ignore[attr-defined]
    assert len(updated) == 1
    assert updated[0].data["annotations"] == note and updated[0].data["updated_by"] == "summer"
    assert updated[0].source == "plugyard.host" and updated[0].workspace_id == admin.workspace_id

    assert is_subscribable("task.updated") and not is_subscribable("task.updated", hooks=True)


def test_a_manifests_task_actions_must_name_declared_entry_points_once() -> None:
    caps = PlatformCaps()
    ok = manifest("fine-id", "acme", task_actions=[SUMMARIZE])
    assert parse_manifest(json.dumps(ok).encode(), caps).task_actions[0].name == "summarize"
    for bad in (
        [{**SUMMARIZE, "entrypoint": "other"}],
        [SUMMARIZE, SUMMARIZE],
        [{**SUMMARIZE, "name": "Has Spaces"}],
        [{**SUMMARIZE, "title": ""}],
    ):
        with pytest.raises(InvalidManifestError):
            parse_manifest(json.dumps(manifest("fine-id", "acme", task_actions=bad)).encode(), caps)
