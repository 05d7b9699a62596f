"""How the execution engine runs a plugin for hooks and events, and the one capability table, with fakes."""

from __future__ import annotations

from typing import Any

import pytest
from plugyard_runtime import CapabilityError, PermissionDenied
from plugyard_runtime.protocol import CAPABILITY_SCOPES
from plugyard_runtime.testing import FakeContext

from chalicelib.config import Settings
from chalicelib.container import build_services, in_memory_adapters
from chalicelib.domain.execution import CAPABILITY_NAMES, Broker, InvocationOutcome, InvocationRequest
from chalicelib.domain.models import EventEnvelope, Installation, InstallRequest, PluginVersion
from chalicelib.domain.permissions import SCOPES
from chalicelib.domain.tasks import CreateTaskRequest
from chalicelib.services import broker as broker_module
from chalicelib.services.plugin_events import EngineNotWiredError, UnwiredHookRunner, UnwiredPluginEventHandler
from chalicelib.services.secret_config import REDACTED, redact_outcome
from unit.conftest import World, fake_resolver


class RecordingExecutor:
    """An executor fake: records each request and answers a fixed reply."""

    def __init__(self, reply: dict[str, Any] | None = None) -> None:
        self.requests: list[InvocationRequest] = []
        self.reply = reply or {}

    def invoke(self, request: InvocationRequest, broker: Broker) -> InvocationOutcome:
        self.requests.append(request)
        return InvocationOutcome(status="succeeded", result=self.reply)


class NoCode:
    def code_dir(self, version: PluginVersion) -> str:
        return "/nonexistent"


def world_with(executor: RecordingExecutor, **settings: Any) -> World:
    adapters = in_memory_adapters()
    adapters.resolver = fake_resolver
    adapters.executor, adapters.code = executor, NoCode()
    services = build_services(Settings(webhooks_allow_private=False, **settings), adapters)
    return World(services, adapters)


def _hooked(world: World, timeout_s: float) -> Installation:
    pub_ws = world.workspace("acme")
    pub = world.caller(pub_ws)
    world.publish_manifest(
        pub, "guard", events=["task.before_run"], resources={"memory_mb": 64, "timeout_s": timeout_s}
    )
    return world.services.installs.install(world.caller(pub_ws), InstallRequest(plugin_id="guard"))


@pytest.mark.parametrize(("plugin_timeout_s", "budget_ms", "expected_s"), [(1, 2000, 1.0), (5, 300, 0.3)])
def test_hooks_run_with_the_plugins_timeout_capped_by_the_budget(
    plugin_timeout_s: float, budget_ms: int, expected_s: float
) -> None:
    executor = RecordingExecutor({"annotations": {"checked": True}})
    world = world_with(executor, hook_budget_ms=budget_ms)
    inst = _hooked(world, plugin_timeout_s)
    admin = world.caller(inst.workspace_id)
    task = world.services.tasks.create(admin, CreateTaskRequest(title="deploy"))
    run = world.services.tasks.run(admin, task.task_id)
    assert [h.status for h in run.hooks] == ["ok"]
    [request] = executor.requests
    assert request.limits.timeout_s == pytest.approx(expected_s)


def test_unwired_engine_fails_loudly_instead_of_dropping() -> None:
    inst = Installation.model_validate(
        {
            "installation_id": "i-1",
            "workspace_id": "ws-1",
            "plugin_id": "p",
            "version": "1.0.0",
            "installed_at": "2026-01-01T00:00:00Z",
            "installed_by": "a",
            "granted": [],
            "updated_at": "2026-01-01T00:00:00Z",
        }
    )
    event = EventEnvelope(
        id="e-1", source="plugyard.host", type="task.completed", workspace_id="ws-1", time=inst.updated_at
    )
    # An event handler that raises leaves the message on the queue (retried, then dead-lettered).
    with pytest.raises(EngineNotWiredError):
        UnwiredPluginEventHandler().handle(inst, event)
    with pytest.raises(EngineNotWiredError):
        UnwiredHookRunner().call(inst, event, timeout_s=1)


def test_one_capability_table_for_runtime_broker_and_sandbox() -> None:
    assert broker_module.CAPABILITY_SCOPES is CAPABILITY_SCOPES
    assert frozenset(CAPABILITY_SCOPES) == CAPABILITY_NAMES
    assert {s for s in CAPABILITY_SCOPES.values() if s} <= set(SCOPES)


@pytest.mark.parametrize(
    ("name", "args", "denied"),
    [
        ("tasks.update", {"task_id": "t1", "changes": {"status": "completed"}}, False),
        ("tasks.update", {"task_id": "t1", "changes": {"summary": "x"}}, False),
        ("events.emit", {"type": "plugin.other.saved", "data": {}}, True),
        ("events.emit", {"type": "task.completed", "data": {}}, True),
        ("storage.put", {"key": "a b", "value": 1}, False),
        ("storage.put", {"key": "k", "value": "x" * 70_000}, False),
        ("http.fetch", {"url": "https://undeclared.example.test/"}, True),
        ("ai.complete", {"prompt": ""}, False),
    ],
)
def test_the_test_kit_refuses_what_the_broker_refuses(name: str, args: dict[str, Any], denied: bool) -> None:
    everything = sorted({s for s in CAPABILITY_SCOPES.values() if s})
    ctx = FakeContext(granted=everything, plugin_id="notes", tasks={"t1": {"task_id": "t1", "title": "a"}})
    with pytest.raises(PermissionDenied if denied else CapabilityError):
        ctx.fake.call(name, args)
    from unit.test_broker import World as BrokerWorld

    host = BrokerWorld().broker(everything)
    with pytest.raises(broker_module.CapabilityDenied if denied else broker_module.CapabilityFailedError):
        host(name, args)


def test_the_test_kit_serves_what_the_broker_serves() -> None:
    ctx = FakeContext(
        granted=["tasks:write", "events:emit", "http:fetch"],
        plugin_id="notes",
        allowed_hosts=["api.example.test"],
        tasks={"t1": {"task_id": "t1", "title": "a", "annotations": []}},
    )
    ctx.tasks.update("t1", annotations=[{"plugin": "notes", "summary": "s"}])
    ctx.events.emit("plugin.notes.saved", {"n": 1})
    ctx.http.fetch("https://api.example.test/x")
    assert ctx.task_data["t1"]["annotations"] == [{"plugin": "notes", "summary": "s"}]
    assert ctx.emitted == [("plugin.notes.saved", {"n": 1})]


def test_secret_values_are_redacted_from_result_error_and_log() -> None:
    outcome = InvocationOutcome(
        status="failed",
        result={"token": "s3cr3t-value", "nested": ["x s3cr3t-value y"], "n": 123456},
        error={"type": "E", "message": "bad s3cr3t-value"},
        log_excerpt="using s3cr3t-value\n",
    )
    clean = redact_outcome(outcome, {"api_token": "s3cr3t-value", "pin": 123456, "flag": "ab"})
    assert clean.result == {"token": REDACTED, "nested": [f"x {REDACTED} y"], "n": REDACTED}
    assert clean.error == {"type": "E", "message": f"bad {REDACTED}"}
    assert clean.log_excerpt == f"using {REDACTED}\n"


def test_an_upgrade_waiting_for_consent_keeps_the_current_version_receiving_events() -> None:
    from chalicelib.adapters import memory
    from chalicelib.domain.events import PublishEventRequest
    from chalicelib.domain.messages import InvokeMessage
    from chalicelib.domain.models import UpgradeRequest

    adapters = in_memory_adapters()
    adapters.resolver = fake_resolver
    adapters.hooks = memory.InMemoryHookRunner()
    handler = adapters.plugin_events = memory.InMemoryPluginEventHandler()
    world = World(build_services(Settings(webhooks_allow_private=False), adapters), adapters)
    ws = world.workspace("acme")
    admin = world.caller(ws)
    world.publish_manifest(admin, "pinger", "1.0.0", events=["workspace.ping"])
    world.publish_manifest(admin, "pinger", "2.0.0", events=["workspace.ping"], permissions=["tasks:read"])
    inst = world.services.installs.install(admin, InstallRequest(plugin_id="pinger", version="1.0.0"))
    pending = world.services.installs.upgrade(admin, inst.installation_id, UpgradeRequest(version="2.0.0"))
    assert (pending.state, pending.version, pending.pending_upgrade is not None) == ("enabled", "1.0.0", True)

    world.services.events.publish(admin, PublishEventRequest(type="workspace.ping", data={}))
    event = adapters.bus.published[-1]  # type: ignore[attr-defined]
    assert world.services.dispatch.dispatch(event).invoke == 1
    [message] = [InvokeMessage.model_validate(m) for m in adapters.queues.sent["invoke"]]  # type: ignore[attr-defined]
    assert world.services.dispatch.invoke(message) == "handled"
    assert handler.handled == [(inst.installation_id, event)]
