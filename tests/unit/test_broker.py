"""The capability broker: scope checks, isolation per installation, event namespace, SSRF, caps, audit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.ai import EchoAiProvider, NoAiProvider
from chalicelib.adapters.memory import (
    InMemoryAuditRepository,
    InMemoryEventBus,
    InMemoryPluginDataRepository,
    InMemorySecretBox,
    InMemoryTaskRepository,
    InMemoryTaskWriter,
)
from chalicelib.domain.errors import DependencyUnavailableError, PlugyardError
from chalicelib.domain.execution import CapabilityDenied
from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models import Installation, Task
from chalicelib.services.audit import AuditService
from chalicelib.services.broker import BrokerLimits, BrokerService, CapabilityFailedError, InstallationBroker

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DNS = {
    "api.example.test": ["93.184.216.34"],
    "sneaky.example.test": ["10.0.0.5"],
    "meta.example.test": ["169.254.169.254"],
}


class Clock:
    def now(self) -> datetime:
        return NOW


class Ids:
    def __init__(self) -> None:
        self._n = itertools.count()

    def new_id(self) -> str:
        return f"id-{next(self._n):04d}"


class FakeHttp:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def fetch(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(kw)
        return {"status": 200, "headers": {}, "body": "hello"}


def resolve(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError(host)
    return DNS[host]


class World:
    def __init__(self, *, ai: Any = None, limits: BrokerLimits | None = None) -> None:
        self.data = InMemoryPluginDataRepository()
        self.audit_repo = InMemoryAuditRepository()
        self.tasks = InMemoryTaskRepository()
        self.bus = InMemoryEventBus()
        self.http = FakeHttp()
        self.service = BrokerService(
            self.data,
            AuditService(self.audit_repo, Clock(), Ids(), InMemorySecretBox()),
            Clock(),
            Ids(),
            tasks=self.tasks,
            task_writer=InMemoryTaskWriter(self.tasks, self.audit_repo, self.bus),
            bus=self.bus,
            http=self.http,
            ai=ai or EchoAiProvider(),
            resolve=resolve,
            limits=limits,
        )

    def broker(
        self, granted: list[str], *, installation_id: str = "inst-a", workspace: str = "ws-1", plugin: str = "notes"
    ) -> InstallationBroker:
        inst = Installation(
            installation_id=installation_id,
            workspace_id=workspace,
            plugin_id=plugin,
            version="1.0.0",
            granted=granted,
            installed_at=NOW,
            installed_by="key:1",
            updated_at=NOW,
        )
        manifest = Manifest.model_validate(
            {
                "id": plugin,
                "name": "Notes",
                "version": "1.0.0",
                "publisher": "acme",
                "entrypoints": {"main": "handler:main"},
                "permissions": granted,
                "http": {"allowed_hosts": ["api.example.test", "sneaky.example.test", "meta.example.test"]},
            }
        )
        return self.service.for_installation(inst, manifest, granted, invocation_id="inv-1")

    def denials(self) -> list[Any]:
        return [r for r in self.audit_repo.items if r.outcome == "denied"]


ALL = ["storage:read", "storage:write", "tasks:read", "tasks:write", "events:emit", "http:fetch", "ai:complete"]


@pytest.mark.parametrize(
    ("capability", "args", "scope"),
    [
        ("storage.get", {"key": "k"}, "storage:read"),
        ("storage.list", {"prefix": ""}, "storage:read"),
        ("storage.put", {"key": "k", "value": 1}, "storage:write"),
        ("storage.delete", {"key": "k"}, "storage:write"),
        ("tasks.get", {"task_id": "t"}, "tasks:read"),
        ("tasks.list", {}, "tasks:read"),
        ("tasks.update", {"task_id": "t", "changes": {"title": "x"}}, "tasks:write"),
        ("events.emit", {"type": "plugin.notes.saved", "data": {}}, "events:emit"),
        ("http.fetch", {"url": "https://api.example.test/"}, "http:fetch"),
        ("ai.complete", {"prompt": "hi"}, "ai:complete"),
    ],
)
def test_every_capability_needs_its_scope_and_denials_are_audited(
    capability: str, args: dict[str, Any], scope: str
) -> None:
    w = World()
    others = [s for s in ALL if s != scope]
    with pytest.raises(CapabilityDenied, match=scope):
        w.broker(others)(capability, args)
    [record] = w.denials()
    assert record.action == "plugin.capability" and record.target == "inst-a"
    assert record.detail["capability"] == capability and record.detail["scope"] == scope
    assert record.actor == "plugin:notes"


def test_permissions_list_is_always_allowed() -> None:
    assert World().broker([])("permissions.list", {}) == {"scopes": []}
    assert World().broker(["storage:read"])("permissions.list", {}) == {"scopes": ["storage:read"]}


def test_unknown_capability_is_denied() -> None:
    with pytest.raises(CapabilityDenied, match="no capability"):
        World().broker(ALL)("shell.exec", {})


def test_storage_is_isolated_per_installation() -> None:
    w = World()
    a = w.broker(ALL, installation_id="inst-a")
    b = w.broker(ALL, installation_id="inst-b", workspace="ws-2")
    a("storage.put", {"key": "secret", "value": {"n": 1}})
    assert a("storage.get", {"key": "secret"}) == {"value": {"n": 1}}
    assert b("storage.get", {"key": "secret"}) == {"value": None}
    assert b("storage.list", {"prefix": ""}) == {"keys": []}
    assert a("storage.list", {"prefix": "se"}) == {"keys": ["secret"]}
    assert set(w.data.items) == {("notes#inst-a", "secret")}
    a("storage.delete", {"key": "secret"})
    assert a("storage.get", {"key": "secret"}) == {"value": None}


@pytest.mark.parametrize("key", ["", "a" * 257, "a b", "x#y", None, 3])
def test_bad_keys_are_refused(key: Any) -> None:
    with pytest.raises(CapabilityFailedError):
        World().broker(ALL)("storage.put", {"key": key, "value": 1})


def test_values_are_size_capped() -> None:
    b = World(limits=BrokerLimits(max_value_bytes=100)).broker(ALL)
    b("storage.put", {"key": "k", "value": "x" * 50})
    with pytest.raises(CapabilityFailedError, match="at most 100 bytes"):
        b("storage.put", {"key": "k", "value": "x" * 200})


def test_events_only_in_the_plugins_own_namespace() -> None:
    w = World()
    b = w.broker(ALL)
    out = b("events.emit", {"type": "plugin.notes.saved", "data": {"n": 1}})
    [event] = w.bus.published
    assert out == {"event_id": event.id}
    assert (event.source, event.type, event.workspace_id, event.data) == (
        "plugyard.plugin.notes",
        "plugin.notes.saved",
        "ws-1",
        {"n": 1},
    )
    for forged in ("plugin.other.saved", "task.completed", "plugin.notesx.saved", "plugin.notes"):
        with pytest.raises(CapabilityDenied, match="own type namespace"):
            b("events.emit", {"type": forged, "data": {}})
    assert len(w.bus.published) == 1
    assert len(w.denials()) == 4


def test_tasks_are_read_and_updated_within_the_workspace_only() -> None:
    w = World()
    w.tasks.put(Task(workspace_id="ws-1", task_id="t1", title="mine", created_at=NOW, updated_at=NOW))
    w.tasks.put(Task(workspace_id="ws-2", task_id="t2", title="theirs", created_at=NOW, updated_at=NOW))
    b = w.broker(ALL)
    assert b("tasks.get", {"task_id": "t1"})["task"]["title"] == "mine"
    assert b("tasks.get", {"task_id": "t2"}) == {"task": None}
    assert [t["task_id"] for t in b("tasks.list", {"filters": {}})["tasks"]] == ["t1"]
    assert b("tasks.update", {"task_id": "t1", "changes": {"title": "new"}})["task"]["title"] == "new"
    with pytest.raises(CapabilityFailedError, match="may change only"):
        b("tasks.update", {"task_id": "t1", "changes": {"status": "completed"}})
    with pytest.raises(CapabilityFailedError, match="No task"):
        b("tasks.update", {"task_id": "t2", "changes": {"title": "pwned"}})
    assert w.tasks.get("ws-2", "t2").title == "theirs"  # type: ignore[union-attr]


def test_a_plugins_task_update_never_puts_back_a_status_that_moved_and_carries_its_event() -> None:
    w = World()
    w.tasks.put(Task(workspace_id="ws-1", task_id="t1", title="mine", status="running", created_at=NOW, updated_at=NOW))
    b = w.broker(ALL)
    assert b("tasks.update", {"task_id": "t1", "changes": {"title": "summarized"}})["task"]["title"] == "summarized"
    assert [e.type for e in w.bus.published] == ["task.updated"]
    read = w.tasks.get  # the plugin reads the running task; the user completes it before the plugin writes

    def completed_after_the_read(workspace_id: str, task_id: str) -> Task | None:
        task = read(workspace_id, task_id)
        w.tasks.put(task.model_copy(update={"status": "completed"}))  # type: ignore[union-attr]
        return task

    w.tasks.get = completed_after_the_read  # type: ignore[method-assign]
    with pytest.raises(CapabilityFailedError, match="changed while the plugin updated it"):
        b("tasks.update", {"task_id": "t1", "changes": {"title": "late"}})
    w.tasks.get = read  # type: ignore[method-assign]
    stored = w.tasks.get("ws-1", "t1")
    assert stored is not None and (stored.status, stored.title) == ("completed", "summarized")
    assert len(w.bus.published) == 1  # no event for a write that did not happen


def test_http_fetch_only_declared_public_hosts_pinned_to_the_checked_address() -> None:
    w = World()
    b = w.broker(ALL)
    assert b("http.fetch", {"url": "https://api.example.test/x"})["status"] == 200
    assert w.http.calls[0]["pinned_ip"] == "93.184.216.34"
    for url in ("https://sneaky.example.test/", "http://meta.example.test/latest", "https://evil.test/"):
        with pytest.raises(CapabilityDenied):
            b("http.fetch", {"url": url})
    assert len(w.http.calls) == 1


def test_ai_local_provider_is_deterministic_and_unconfigured_is_clear() -> None:
    b = World().broker(ALL)
    first = b("ai.complete", {"prompt": "summarize this"})
    assert first == b("ai.complete", {"prompt": "summarize this"})
    assert first["provider"] == "echo" and first["text"]
    with pytest.raises(DependencyUnavailableError, match="not configured"):
        World(ai=NoAiProvider()).broker(ALL)("ai.complete", {"prompt": "x"})


def test_call_budget_per_invocation() -> None:
    b = World(limits=BrokerLimits(max_calls=3)).broker(ALL)
    for _ in range(3):
        b("permissions.list", {})
    with pytest.raises(PlugyardError, match="at most 3"):
        b("permissions.list", {})


def test_host_failures_do_not_leak_internals() -> None:
    w = World()

    class Broken:
        def get(self, *a: Any) -> Any:
            raise RuntimeError("arn:aws:dynamodb:...:table/plugyard-prod-plugin-data is throttled")

    w.service.data = Broken()  # type: ignore[assignment]
    with pytest.raises(CapabilityFailedError) as exc:
        w.broker(ALL)("storage.get", {"key": "k"})
    assert "arn:" not in str(exc.value)
