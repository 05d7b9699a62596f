"""A development upload's new code gets its warm worker before its first invocation (SandboxExecutor.prewarm)."""

from __future__ import annotations

from chalicelib.adapters.sandbox import SandboxExecutor
from chalicelib.domain.execution import InvocationRequest, Limits

from .conftest import FakeBroker, PluginFactory

SOURCE = (
    "STARTED = []\ndef handler(event, ctx):\n    STARTED.append(1)\n    return {'runs': len(STARTED), 'tag': '%s'}\n"
)


def request(code_dir: str, installation: str) -> InvocationRequest:
    return InvocationRequest(
        installation_id=installation,
        workspace_id="ws-prewarm",
        plugin_id="test-plugin",
        version="dev-ws-prewarm",
        code_dir=code_dir,
        entrypoint="main:handler",
        event={},
        config={},
        granted_scopes=[],
        limits=Limits(memory_mb=64, timeout_s=3.0, cpu_s=5),
    )


def test_prewarm_starts_the_new_codes_worker_and_its_first_invocation_uses_it(
    executor: SandboxExecutor, plugin: PluginFactory
) -> None:
    old, new = plugin(SOURCE % "old"), plugin(SOURCE % "new")
    first = executor.invoke(request(str(old), "inst-prewarm"), FakeBroker([]))
    assert first.result == {"runs": 1, "tag": "old"}
    before = executor.worker_count()
    assert executor.prewarm(request(str(new), "inst-prewarm")) is True  # the old code's worker is replaced
    assert executor.worker_count() == before
    assert executor.prewarm(request(str(new), "inst-prewarm")) is False  # already running that code
    out = executor.invoke(request(str(new), "inst-prewarm"), FakeBroker([]))
    # The new code, in a fresh process; its start-up is charged to this first invocation (cold) as usual.
    assert out.result == {"runs": 1, "tag": "new"} and out.cold_start is True
    again = executor.invoke(request(str(new), "inst-prewarm"), FakeBroker([]))
    assert again.result == {"runs": 2, "tag": "new"} and again.cold_start is False
