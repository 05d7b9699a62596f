"""The test kit refuses exactly what the host refuses: same calls, same exception, same error type, same words.

The host side is the real broker (chalicelib.services.broker) behind the real reply path of the sandbox
(chalicelib.adapters.sandbox._replies.broker_reply), and the exception a plugin sees is what the SDK's transport
raises from that reply (plugyard_runtime.transport.raise_for_error). The kit side is
``plugyard_runtime.testing.FakeContext``. There is one capability table (plugyard_runtime.protocol) and one
rule book (plugyard_runtime.rules); the source scan below keeps it that way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from plugyard_runtime import CapabilityError, PermissionDenied, PluginRuntimeError
from plugyard_runtime.protocol import CAPABILITY_SCOPES
from plugyard_runtime.testing import FakeContext
from plugyard_runtime.transport import raise_for_error

from chalicelib.adapters.sandbox._replies import broker_reply
from chalicelib.domain.permissions import SCOPES
from unit.test_broker import World as BrokerWorld

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = sorted({s for s in CAPABILITY_SCOPES.values() if s})
HOSTS = ["api.example.test", "sneaky.example.test", "meta.example.test"]  # the broker world's manifest
# A task both sides hold: the kit from its constructor, the host in its task repository.
TASK_ID = "t1"

CASES: list[tuple[str, list[str], str, dict[str, Any]]] = [
    # (why, granted, capability, args)
    ("scope not granted", ["tasks:read"], "storage.get", {"key": "k"}),
    ("write without storage:write", ["storage:read"], "storage.put", {"key": "k", "value": 1}),
    ("task update without tasks:write", ["tasks:read"], "tasks.update", {"task_id": TASK_ID, "changes": {}}),
    ("ai without ai:complete", ["storage:read"], "ai.complete", {"prompt": "hi"}),
    ("no such capability", EVERYTHING, "files.read", {"path": "/etc/passwd"}),
    ("another plugin's event namespace", EVERYTHING, "events.emit", {"type": "plugin.other.saved", "data": {}}),
    ("a host event type", EVERYTHING, "events.emit", {"type": "task.completed", "data": {}}),
    ("a malformed own event type", EVERYTHING, "events.emit", {"type": "plugin.notes.Bad Name", "data": {}}),
    ("event data not an object", EVERYTHING, "events.emit", {"type": "plugin.notes.saved", "data": [1]}),
    ("an undeclared host", EVERYTHING, "http.fetch", {"url": "https://undeclared.example.test/"}),
    ("a method HTTP has not", EVERYTHING, "http.fetch", {"url": "https://api.example.test/", "method": "BREW"}),
    ("a malformed storage key", EVERYTHING, "storage.put", {"key": "a b", "value": 1}),
    ("an oversized value", EVERYTHING, "storage.put", {"key": "k", "value": "x" * 70_000}),
    ("a status change", EVERYTHING, "tasks.update", {"task_id": TASK_ID, "changes": {"status": "completed"}}),
    ("an unknown task field", EVERYTHING, "tasks.update", {"task_id": TASK_ID, "changes": {"summary": "x"}}),
    ("annotations not a list", EVERYTHING, "tasks.update", {"task_id": TASK_ID, "changes": {"annotations": "x"}}),
    ("a title not a string", EVERYTHING, "tasks.update", {"task_id": TASK_ID, "changes": {"title": 7}}),
    ("a task that does not exist", EVERYTHING, "tasks.update", {"task_id": "t9", "changes": {"title": "x"}}),
    ("no task id", EVERYTHING, "tasks.get", {}),
    ("filters not an object", EVERYTHING, "tasks.list", {"filters": [1]}),
    ("an empty prompt", EVERYTHING, "ai.complete", {"prompt": ""}),
    ("too many tokens", EVERYTHING, "ai.complete", {"prompt": "hi", "max_tokens": 100_000}),
]


def host_refusal(granted: list[str], name: str, args: dict[str, Any]) -> PluginRuntimeError:
    """What the plugin sees when the host's broker refuses the call (sandbox path)."""
    world = BrokerWorld()
    broker = world.broker(granted)
    world.tasks.put(_host_task(world))
    reply = broker_reply({"op": "call", "id": 1, "name": name, "args": args}, broker)
    assert reply["ok"] is False, f"the host served {name} {args}: {reply}"
    with pytest.raises(PluginRuntimeError) as caught:
        raise_for_error(reply["error"])
    return caught.value


def _host_task(world: BrokerWorld) -> Any:
    from chalicelib.domain.models import Task

    now = "2026-12-01T00:00:00Z"
    return Task.model_validate(
        {"workspace_id": "ws-1", "task_id": TASK_ID, "title": "a", "created_at": now, "updated_at": now}
    )


def kit_refusal(granted: list[str], name: str, args: dict[str, Any]) -> PluginRuntimeError:
    ctx = FakeContext(
        granted=granted,
        plugin_id="notes",
        allowed_hosts=HOSTS,
        tasks={TASK_ID: {"task_id": TASK_ID, "title": "a", "annotations": []}},
    )
    with pytest.raises(PluginRuntimeError) as caught:
        ctx.transport.call(name, args)
    return caught.value


@pytest.mark.parametrize(("why", "granted", "name", "args"), CASES, ids=[c[0] for c in CASES])
def test_the_kit_refuses_what_the_host_refuses_with_the_same_error(
    why: str, granted: list[str], name: str, args: dict[str, Any]
) -> None:
    host, kit = host_refusal(granted, name, args), kit_refusal(granted, name, args)
    assert type(kit) is type(host), why
    assert isinstance(host, (PermissionDenied, CapabilityError))
    if isinstance(host, CapabilityError):
        assert isinstance(kit, CapabilityError)
        assert (kit.error_type, kit.message) == (host.error_type, host.message)
    assert str(kit) == str(host)


def test_the_same_calls_are_served_by_both() -> None:
    world = BrokerWorld()
    world.tasks.put(_host_task(world))
    host = world.broker(EVERYTHING)
    kit = FakeContext(
        granted=EVERYTHING,
        plugin_id="notes",
        allowed_hosts=HOSTS,
        tasks={TASK_ID: {"task_id": TASK_ID, "title": "a", "annotations": []}},
    )
    calls = [
        ("storage.put", {"key": "notes/2026-12-01@x:y", "value": {"n": 1}}),
        ("storage.get", {"key": "notes/2026-12-01@x:y"}),
        ("storage.list", {"prefix": "notes/"}),
        ("tasks.update", {"task_id": TASK_ID, "changes": {"annotations": [{"plugin": "notes"}], "title": "b"}}),
        ("events.emit", {"type": "plugin.notes.saved", "data": {"n": 1}}),
        ("http.fetch", {"url": "https://api.example.test/x", "method": "post", "body": "{}"}),
        ("ai.complete", {"prompt": "hi", "max_tokens": 10}),
        ("permissions.list", {}),
    ]
    for name, args in calls:
        reply = broker_reply({"op": "call", "id": 1, "name": name, "args": args}, host)
        assert reply["ok"] is True, (name, reply)
        kit.transport.call(name, args)  # raises if the kit refused it
    assert kit.storage_data == {"notes/2026-12-01@x:y": {"n": 1}}


def test_one_capability_table_and_one_scope_catalog() -> None:
    # Every scope a capability needs is one an admin is asked to grant, and nothing else is.
    assert {s for s in CAPABILITY_SCOPES.values() if s} == set(SCOPES)
    # No second copy of the table: no other source file maps a capability name to its scope.
    pair = re.compile(r"""["']storage\.put["']\s*:\s*["']storage:write["']""")
    sources = [*(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "plugin-runtime").rglob("*.py")]
    copies = [p.relative_to(ROOT).as_posix() for p in sources if pair.search(p.read_text())]
    assert copies == ["plugin-runtime/plugyard_runtime/protocol.py"]
