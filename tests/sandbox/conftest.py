"""Fixtures for the sandbox tests: a real SandboxExecutor (bwrap required), plugin dirs, a fake broker."""

from __future__ import annotations

import itertools
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "plugin-runtime"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from plugyard_runtime.protocol import CAPABILITY_SCOPES  # noqa: E402

from chalicelib.adapters.sandbox import SandboxExecutor  # noqa: E402
from chalicelib.domain.execution import (  # noqa: E402
    CapabilityDenied,
    InvocationOutcome,
    InvocationRequest,
    Limits,
)

if shutil.which("bwrap") is None:
    pytest.skip("bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap", allow_module_level=True)

_ids = itertools.count()

# A hostile plugin defines attack(event, ctx); without {"attack": true} it behaves, so a test can check
# that the same installation works normally right after the attack was contained.
DISPATCH = """

def handler(event, ctx):
    if event.get("attack"):
        return attack(event, ctx)
    return {"ok": True}
"""


class FakeBroker:
    """The host broker in memory: scope checks like the real one, records every call."""

    def __init__(self, granted: list[str]) -> None:
        self.granted = set(granted)
        self.storage: dict[str, Any] = {}
        self.tasks: dict[str, dict[str, Any]] = {"t1": {"id": "t1", "status": "open"}}
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[str] = []

    def __call__(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(name)
        scope = CAPABILITY_SCOPES[name]
        if scope is not None and scope not in self.granted:
            raise CapabilityDenied(f"{name} needs {scope}")
        if name == "storage.get":
            return {"value": self.storage.get(args["key"])}
        if name == "storage.put":
            self.storage[args["key"]] = args["value"]
            return {}
        if name == "storage.delete":
            self.storage.pop(args["key"], None)
            return {}
        if name == "storage.list":
            return {"keys": sorted(k for k in self.storage if k.startswith(args["prefix"]))}
        if name == "tasks.get":
            return {"task": self.tasks.get(args["task_id"])}
        if name == "tasks.list":
            return {"tasks": list(self.tasks.values())}
        if name == "tasks.update":
            self.tasks[args["task_id"]].update(args["changes"])
            return {"task": self.tasks[args["task_id"]]}
        if name == "events.emit":
            self.emitted.append((args["type"], args["data"]))
            return {"event_id": "evt-1"}
        if name == "http.fetch":
            if args["url"].startswith("http://boom"):
                raise ConnectionError("host unreachable")
            return {"status": 200, "headers": {}, "body": f"fetched {args['url']}"}
        if name == "ai.complete":
            return {"text": f"echo: {args['prompt']}"}
        return {"scopes": sorted(self.granted)}


ALL_SCOPES = [s for s in CAPABILITY_SCOPES.values() if s]


@pytest.fixture(scope="session")
def executor() -> Iterator[SandboxExecutor]:
    """One executor for the whole run (as in the API server); each test uses its own installation."""
    ex = SandboxExecutor(idle_ttl_s=60)
    ex.check()
    yield ex
    ex.close()


PluginFactory = Callable[[str], Path]


@pytest.fixture
def plugin(tmp_path: Path) -> PluginFactory:
    """Write `source` as plugin module main.py in a fresh code dir."""

    def make(source: str) -> Path:
        code = tmp_path / f"plugin{next(_ids)}"
        code.mkdir()
        (code / "main.py").write_text(textwrap.dedent(source))
        return code

    return make


@pytest.fixture
def hostile(plugin: PluginFactory) -> PluginFactory:
    """A plugin whose handler runs `attack(event, ctx)` only when the event says {"attack": true}."""
    return lambda source: plugin(textwrap.dedent(source) + DISPATCH)


Invoke = Callable[..., InvocationOutcome]


@pytest.fixture
def invoke(executor: SandboxExecutor) -> Invoke:
    """invoke(code_dir, event=..., installation=..., broker=..., **limits) on the shared executor."""
    default_installation = f"inst-{next(_ids)}"

    def run(
        code_dir: Path,
        event: dict[str, Any] | None = None,
        *,
        installation: str | None = None,
        workspace: str = "ws-1",
        broker: FakeBroker | None = None,
        granted: list[str] | None = None,
        entrypoint: str = "main:handler",
        config: dict[str, Any] | None = None,
        **limits: Any,
    ) -> InvocationOutcome:
        limits.setdefault("memory_mb", 64)
        limits.setdefault("timeout_s", 3.0)
        limits.setdefault("cpu_s", 5)
        granted = ALL_SCOPES if granted is None else granted
        request = InvocationRequest(
            installation_id=installation or default_installation,
            workspace_id=workspace,
            plugin_id="test-plugin",
            version="1.0.0",
            code_dir=str(code_dir),
            entrypoint=entrypoint,
            event=event or {},
            config=config or {},
            granted_scopes=granted,
            limits=Limits(**limits),
        )
        return executor.invoke(request, broker or FakeBroker(granted))

    return run
