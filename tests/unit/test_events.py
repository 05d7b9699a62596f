"""Events with fakes: catalog schemas, subscriptions, fan-out and isolation, batches, hooks, triggers, tasks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.adapters import memory
from chalicelib.config import Settings
from chalicelib.container import Services, build_services, in_memory_adapters
from chalicelib.domain.deliveries import DeliveryJob
from chalicelib.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidTriggerSecretError,
    TaskStateError,
    ValidationFailedError,
)
from chalicelib.domain.events import PublishEventRequest, data_errors, is_subscribable, parse_trigger_event_type
from chalicelib.domain.messages import InvokeMessage, PoisonMessageError, parse_dispatch_body
from chalicelib.domain.models import EventEnvelope, InstallRequest, RegisterWebhookRequest
from chalicelib.domain.permissions import Role
from chalicelib.domain.tasks import CompleteTaskRequest, CreateTaskRequest
from chalicelib.domain.triggers import CreateTriggerRequest
from chalicelib.services.plugin_events import event_entrypoint
from chalicelib.workers.dispatcher import handle_dispatch_batch
from chalicelib.workers.invoker import handle_invoke_batch
from unit.conftest import World, fake_resolver
from unit.sqs_events import sqs_batch


class Fakes:
    def __init__(self, world: World) -> None:
        a = world.adapters
        assert isinstance(a.bus, memory.InMemoryEventBus)
        assert isinstance(a.queues, memory.InMemoryWorkQueues)
        assert isinstance(a.subscriptions, memory.InMemorySubscriptionRepository)
        assert isinstance(a.hooks, memory.InMemoryHookRunner)
        assert isinstance(a.plugin_events, memory.InMemoryPluginEventHandler)
        self.bus, self.queues, self.subs, self.hooks, self.handler = (
            a.bus,
            a.queues,
            a.subscriptions,
            a.hooks,
            a.plugin_events,
        )


@pytest.fixture
def ev_world() -> World:
    adapters = in_memory_adapters()
    adapters.resolver = fake_resolver
    adapters.hooks = memory.InMemoryHookRunner()
    adapters.plugin_events = memory.InMemoryPluginEventHandler()
    services = build_services(Settings(webhooks_allow_private=False, hook_budget_ms=300), adapters)
    return World(services, adapters)


def _installed(world: World, events: list[str], ws: str | None = None) -> tuple[Any, Any]:
    pub = f"pub-{time.perf_counter_ns() % 10**8}"
    ws = ws or world.workspace(pub)
    owner = world.caller(ws)
    if owner.publisher_id is None:
        owner_ws = world.workspace(pub)
        owner = world.caller(owner_ws)
    pid = f"p-{time.perf_counter_ns() % 10**10}"
    world.publish_manifest(owner, pid, events=events)
    _approve(world, pid)
    admin = world.caller(ws)
    return admin, world.services.installs.install(admin, InstallRequest(plugin_id=pid))


def _approve(world: World, pid: str) -> None:
    for (p, _), v in list(world.adapters.versions.items.items()):  # type: ignore[attr-defined]
        if p == pid and v.state == "pending":
            world.adapters.versions.items[(p, v.version)] = v.model_copy(update={"state": "approved"})  # type: ignore[attr-defined]


def _svc(world: World) -> Services:
    return world.services


# --- catalog -------------------------------------------------------------------------------------------


def test_catalog_schemas_check_data() -> None:
    assert data_errors("task.completed", {"task_id": "t", "title": "x", "status": "completed"}) == []
    assert sorted(e["msg"] for e in data_errors("task.completed", {"task_id": "t"})) == [
        "'status' is a required property",
        "'title' is a required property",
    ]
    assert data_errors("plugin.acme-bot.anything", {"free": ["form"]}) == []
    assert data_errors("workspace.deploy.done", {"a": 1}) == []
    assert data_errors("nonsense", {})[0]["loc"] == "type"
    assert is_subscribable("workspace.deploy") and not is_subscribable("task.before_run")
    assert is_subscribable("task.before_run", hooks=True)
    assert parse_trigger_event_type("plugin.acme-bot.trigger.sync") == ("acme-bot", "sync")


def test_event_entrypoint_convention() -> None:
    eps = {"main": "h:main", "on_completed": "h:c", "on_trigger_sync": "h:s", "on_before_run": "h:b"}
    assert event_entrypoint(eps, "task.completed") == "on_completed"
    assert event_entrypoint(eps, "task.failed") is None  # → the default entry point
    assert event_entrypoint(eps, "plugin.acme-bot.trigger.sync") == "on_trigger_sync"
    assert event_entrypoint(eps, "task.before_run") == "on_before_run"


def test_dispatch_body_accepts_eventbridge_and_bare_envelopes() -> None:
    env = {
        "id": "01H",
        "source": "plugyard.host",
        "type": "task.created",
        "workspace_id": "w",
        "time": "2026-01-01T00:00:00Z",
    }
    assert parse_dispatch_body(json.dumps({"detail-type": "task.created", "detail": env})).id == "01H"
    assert parse_dispatch_body(json.dumps(env)).type == "task.created"
    with pytest.raises(PoisonMessageError, match="not JSON"):
        parse_dispatch_body("{")
    with pytest.raises(PoisonMessageError, match="not an event envelope"):
        parse_dispatch_body(json.dumps({"detail-type": "x", "detail": {"id": 1}}))


# --- subscriptions, publishing, fan-out --------------------------------------------------------------


def test_install_subscribes_uninstall_unsubscribes_and_both_are_announced(ev_world: World) -> None:
    f = Fakes(ev_world)
    admin, inst = _installed(ev_world, ["task.completed", "workspace.ping"])
    target = f"installation#{inst.installation_id}"
    assert f.subs.targets(admin.workspace_id, "task.completed") == [target]
    assert f.subs.targets(admin.workspace_id, "workspace.ping") == [target]
    ev_world.services.installs.uninstall(admin, inst.installation_id)
    assert f.subs.targets(admin.workspace_id, "task.completed") == []
    types = [e.type for e in f.bus.published if e.workspace_id == admin.workspace_id]
    assert types == ["plugin.installed", "plugin.uninstalled"]
    assert f.bus.published[-1].data["installation_id"] == inst.installation_id


def test_webhook_registration_subscribes(ev_world: World) -> None:
    f = Fakes(ev_world)
    ws = ev_world.workspace()
    admin = ev_world.caller(ws)
    hook = ev_world.services.webhooks.register(
        admin,
        RegisterWebhookRequest(url="https://hooks.example.test/x", event_types=["task.failed"]),  # type: ignore[arg-type]
    )
    assert f.subs.targets(ws, "task.failed") == [f"webhook#{hook.webhook_id}"]
    ev_world.services.webhooks.delete(admin, hook.webhook_id)
    assert f.subs.targets(ws, "task.failed") == []


def test_dispatch_fans_out_to_the_workspaces_own_subscribers(ev_world: World) -> None:
    f = Fakes(ev_world)
    admin_a, inst_a = _installed(ev_world, ["workspace.ping"])
    _, inst_b = _installed(ev_world, ["workspace.ping"])
    hook = ev_world.services.webhooks.register(
        admin_a,
        RegisterWebhookRequest(url="https://hooks.example.test/x", event_types=["workspace.ping"]),  # type: ignore[arg-type]
    )
    accepted = ev_world.services.events.publish(admin_a, PublishEventRequest(type="workspace.ping", data={"n": 1}))
    event = f.bus.published[-1]
    assert event.id == accepted.id and event.source == "plugyard.workspace"

    result = ev_world.services.dispatch.dispatch(event)
    assert (result.invoke, result.delivery) == (1, 1)
    [inv] = [InvokeMessage.model_validate(m) for m in f.queues.sent["invoke"]]
    [dlv] = [DeliveryJob.model_validate(m) for m in f.queues.sent["delivery"]]
    assert (inv.workspace_id, inv.installation_id, inv.event.id) == (
        admin_a.workspace_id,
        inst_a.installation_id,
        event.id,
    )
    assert (dlv.kind, dlv.webhook_id, dlv.event.id) == ("webhook", hook.webhook_id, event.id)
    # a new job: the follow-up fields are the deliverer's to fill in
    assert (dlv.delivery_id, dlv.attempt, dlv.not_before, dlv.rate_slot) == (None, 0, None, False)
    assert "delivery_id" not in f.queues.sent["delivery"][0]
    assert inst_b.installation_id not in json.dumps(f.queues.sent)


def test_invoker_runs_enabled_installations_of_the_messages_workspace_only(ev_world: World) -> None:
    f = Fakes(ev_world)
    admin, inst = _installed(ev_world, ["workspace.ping"])
    event = ev_world.services.events.envelope(admin.workspace_id, "workspace.ping", {})
    ok = InvokeMessage(workspace_id=admin.workspace_id, installation_id=inst.installation_id, event=event)
    forged = InvokeMessage(workspace_id="ws-other", installation_id=inst.installation_id, event=event)
    assert ev_world.services.dispatch.invoke(ok) == "handled"
    assert ev_world.services.dispatch.invoke(forged) == "skipped:uninstalled"
    assert f.handler.handled == [(inst.installation_id, event)]


def test_publish_requires_admin(ev_world: World) -> None:
    ws = ev_world.workspace()
    with pytest.raises(ForbiddenError):
        ev_world.services.events.publish(ev_world.caller(ws, Role.MEMBER), PublishEventRequest(type="workspace.x"))
    with pytest.raises(ValidationFailedError):
        ev_world.services.events.envelope(ws, "task.created", {"nope": 1})


# --- workers: partial failures, poison, last attempt -------------------------------------------------


def test_dispatch_batch_dead_letters_poison_and_reports_partial_failures(ev_world: World) -> None:
    f = Fakes(ev_world)
    admin, inst = _installed(ev_world, ["workspace.ping"])
    good = ev_world.services.events.envelope(admin.workspace_id, "workspace.ping", {})
    out = handle_dispatch_batch(
        sqs_batch([good.model_dump_json(), "garbage"], queue="plugyard-dev-dispatch", ids=["1", "2"]),
        services=ev_world.services,
    )
    assert out == {"batchItemFailures": []}
    assert len(f.queues.sent["invoke"]) == 1
    [dead] = f.queues.dead["dispatch"]
    assert dead["code"] == "malformed-message" and dead["body"] == "garbage"

    f.handler.fail.add(inst.installation_id)
    msg = InvokeMessage(workspace_id=admin.workspace_id, installation_id=inst.installation_id, event=good)
    body = msg.model_dump_json()
    out = handle_invoke_batch(sqs_batch([body], queue="plugyard-dev-invoke", ids=["a"]), services=ev_world.services)
    assert out == {"batchItemFailures": [{"itemIdentifier": "a"}]}  # retried by SQS
    out = handle_invoke_batch(
        sqs_batch([body], queue="plugyard-dev-invoke", receives=5, ids=["b"]), services=ev_world.services
    )
    assert out == {"batchItemFailures": []}  # last receive: dead-lettered by us, with the reason
    [last] = f.queues.dead["invoke"]
    assert last["code"] == "retries-exhausted" and "RuntimeError" in last["reason"]


# --- tasks and the before_run hook ---------------------------------------------------------------------


def test_task_lifecycle_and_events(ev_world: World) -> None:
    f = Fakes(ev_world)
    ws = ev_world.workspace()
    member = ev_world.caller(ws, Role.MEMBER)
    tasks = ev_world.services.tasks
    task = tasks.create(member, CreateTaskRequest(title="ship"))
    with pytest.raises(TaskStateError):
        tasks.complete(member, task.task_id, CompleteTaskRequest())
    assert tasks.run(member, task.task_id).task.status == "running"
    assert tasks.complete(member, task.task_id, CompleteTaskRequest(result={"ok": True})).status == "completed"
    types = [e.type for e in f.bus.published if e.workspace_id == ws]
    assert types == ["task.created", "task.started", "task.completed"]
    assert f.bus.published[-1].data["result"] == {"ok": True}
    log, _ = ev_world.adapters.audit.query(ws, action=None, actor=None, target=task.task_id, limit=10, token=None)
    assert [(r.action, r.actor) for r in log] == [
        ("task.completed", member.actor),
        ("task.run", member.actor),
        ("task.create", member.actor),
    ]
    with pytest.raises(ForbiddenError):
        tasks.create(ev_world.caller(ws, Role.REVIEWER), CreateTaskRequest(title="x"))


def test_before_run_veto_annotations_errors_and_budget(ev_world: World) -> None:
    f = Fakes(ev_world)
    admin, vetoer = _installed(ev_world, ["task.before_run"])
    _, annotator = _installed(ev_world, ["task.before_run"], ws=admin.workspace_id)
    _, sleeper = _installed(ev_world, ["task.before_run"], ws=admin.workspace_id)
    _, broken = _installed(ev_world, ["task.before_run"], ws=admin.workspace_id)

    def slow(event: EventEnvelope) -> dict[str, Any]:
        time.sleep(3)
        return {"veto": True}

    def boom(event: EventEnvelope) -> dict[str, Any]:
        raise RuntimeError("plugin crashed")

    f.hooks.replies = {
        vetoer.installation_id: lambda e: {"veto": True, "reason": "frozen"},
        annotator.installation_id: lambda e: {"annotations": {"risk": "low"}},
        sleeper.installation_id: slow,
        broken.installation_id: boom,
    }
    task = ev_world.services.tasks.create(admin, CreateTaskRequest(title="deploy"))
    t0 = time.monotonic()
    run = ev_world.services.tasks.run(admin, task.task_id)
    assert time.monotonic() - t0 < 1.0  # budget 300 ms; the 3 s plugin is not waited for
    by_id = {h.installation_id: h for h in run.hooks}
    assert by_id[vetoer.installation_id].status == "veto"
    assert by_id[annotator.installation_id].status == "ok"
    assert by_id[sleeper.installation_id].status == "timeout"  # its late veto does not count
    assert by_id[broken.installation_id].status == "error"
    assert run.task.status == "vetoed"
    assert run.task.annotations[0]["risk"] == "low"
    assert all(c[1].type == "task.before_run" for c in f.hooks.calls)

    f.hooks.replies.pop(vetoer.installation_id)
    assert ev_world.services.tasks.run(admin, task.task_id).task.status == "running"  # a vetoed task may run again


# --- triggers ---------------------------------------------------------------------------------------------


def test_triggers_verify_secrets_and_target_their_installation(ev_world: World) -> None:
    f = Fakes(ev_world)
    admin, inst = _installed(ev_world, [])
    triggers = ev_world.services.triggers
    created = triggers.create(admin, inst.installation_id, CreateTriggerRequest(name="sync"))
    assert created.secret.startswith("pyt_")
    stored = ev_world.adapters.triggers.get(inst.installation_id, "sync")
    assert stored is not None and created.secret not in stored.model_dump_json()
    with pytest.raises(ConflictError):
        triggers.create(admin, inst.installation_id, CreateTriggerRequest(name="sync"))
    for bad in (None, "", "pyt_wrong"):
        with pytest.raises(InvalidTriggerSecretError):
            triggers.fire(inst.installation_id, "sync", bad, b"{}")
    with pytest.raises(InvalidTriggerSecretError):
        triggers.fire(inst.installation_id, "other", created.secret, b"{}")
    accepted = triggers.fire(inst.installation_id, "sync", created.secret, b'{"a": 1}')
    event = f.bus.published[-1]
    assert event.id == accepted.id and event.data == {
        "installation_id": inst.installation_id,
        "trigger": "sync",
        "payload": {"a": 1},
    }

    # A trigger event goes to its installation, even with no subscription, and to nobody else.
    _installed(ev_world, [f"plugin.{inst.plugin_id}.trigger.sync"], ws=admin.workspace_id)
    result = ev_world.services.dispatch.dispatch(event)
    assert result.invoke == 1 and f.queues.sent["invoke"][-1]["installation_id"] == inst.installation_id

    rotated = triggers.rotate(admin, inst.installation_id, "sync")
    with pytest.raises(InvalidTriggerSecretError):
        triggers.fire(inst.installation_id, "sync", created.secret, b"{}")
    triggers.fire(inst.installation_id, "sync", rotated.secret, b"")
    ev_world.services.installs.uninstall(admin, inst.installation_id)
    assert ev_world.adapters.triggers.list(inst.installation_id) == []
