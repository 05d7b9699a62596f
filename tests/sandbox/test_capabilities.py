"""A plugin in the real sandbox reaches every capability through the broker, and only the granted ones."""

from __future__ import annotations

import threading

from chalicelib.adapters.sandbox import SandboxExecutor
from chalicelib.adapters.sandbox._worker import WorkerSpec

from .conftest import FakeBroker, Invoke, PluginFactory

ALL_CAPABILITIES = """
def handler(event, ctx):
    ctx.storage.put("greeting", {"text": "hi"})
    ctx.storage.put("other", 1)
    got = ctx.storage.get("greeting")
    keys = ctx.storage.list("gr")
    ctx.storage.delete("other")
    task = ctx.tasks.get("t1")
    tasks = ctx.tasks.list(status="open")
    updated = ctx.tasks.update("t1", status="done")
    event_id = ctx.events.emit("greeting.sent", {"to": event["name"]})
    page = ctx.http.fetch("https://example.com", method="POST", headers={"a": "b"}, body="x")
    answer = ctx.ai.complete("say hi", max_tokens=5)
    ctx.log.info("all capabilities used")
    return {
        "got": got, "keys": keys, "task": task, "tasks": len(tasks), "updated": updated,
        "event_id": event_id, "page": page["body"], "answer": answer["text"],
        "config": ctx.config, "has_ai": ctx.permissions.has("ai:complete"),
        "refreshed": sorted(ctx.permissions.refresh()),
    }
"""


def test_every_capability_round_trips_through_the_broker(plugin: PluginFactory, invoke: Invoke) -> None:
    broker = FakeBroker(["storage:read", "storage:write", "tasks:read", "tasks:write", "events:emit",
                         "http:fetch", "ai:complete"])  # fmt: skip
    outcome = invoke(plugin(ALL_CAPABILITIES), {"name": "Ada"}, broker=broker, config={"lang": "en"})
    assert outcome.status == "succeeded", outcome
    result = outcome.result or {}
    assert result["got"] == {"text": "hi"}
    assert result["keys"] == ["greeting"]
    assert result["task"] == {"id": "t1", "status": "open"}
    assert result["updated"]["status"] == "done"
    assert result["event_id"] == "evt-1"
    assert result["page"] == "fetched https://example.com"
    assert result["answer"] == "echo: say hi"
    assert result["config"] == {"lang": "en"}
    assert result["has_ai"] is True
    assert "ai:complete" in result["refreshed"]
    assert broker.storage == {"greeting": {"text": "hi"}}
    assert broker.emitted == [("greeting.sent", {"to": "Ada"})]
    assert "all capabilities used" in outcome.log_excerpt
    assert outcome.cold_start is True
    assert outcome.duration_ms > 0 and outcome.peak_memory_mb > 0


def test_warm_worker_is_reused_and_keeps_module_state(plugin: PluginFactory, invoke: Invoke) -> None:
    code = plugin("COUNT = []\ndef handler(event, ctx):\n    COUNT.append(1)\n    return {'n': len(COUNT)}\n")
    outcomes = [invoke(code, installation="warm-1") for _ in range(3)]
    assert [o.result for o in outcomes] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [o.cold_start for o in outcomes] == [True, False, False]


def test_installations_never_share_a_worker(plugin: PluginFactory, invoke: Invoke) -> None:
    code = plugin("COUNT = []\ndef handler(event, ctx):\n    COUNT.append(1)\n    return {'n': len(COUNT)}\n")
    assert invoke(code, installation="iso-a").result == {"n": 1}
    assert invoke(code, installation="iso-b").result == {"n": 1}
    assert invoke(code, installation="iso-a", workspace="ws-2").result == {"n": 1}
    assert invoke(code, installation="iso-a").result == {"n": 2}


def test_denied_scope_raises_permission_denied_inside_the_plugin(plugin: PluginFactory, invoke: Invoke) -> None:
    code = plugin("""
        from plugyard_runtime import PermissionDenied
        def handler(event, ctx):
            if event.get("catch"):
                try:
                    ctx.ai.complete("x")
                except PermissionDenied as exc:
                    return {"caught": str(exc)}
            ctx.events.emit("x.happened", {})
    """)
    broker = FakeBroker(["storage:read"])
    outcome = invoke(code, broker=broker, granted=["storage:read"], installation="deny-1")
    assert outcome.status == "permission_denied"
    assert outcome.error == {"type": "PermissionDenied", "message": "events.emit needs events:emit"}
    assert broker.emitted == []
    caught = invoke(code, {"catch": True}, broker=broker, granted=["storage:read"], installation="deny-1")
    assert caught.status == "succeeded"
    assert caught.result == {"caught": "ai.complete needs ai:complete"}


def test_broker_failure_becomes_capability_error(plugin: PluginFactory, invoke: Invoke) -> None:
    code = plugin("""
        from plugyard_runtime import CapabilityError
        def handler(event, ctx):
            try:
                ctx.http.fetch("http://boom.example")
            except CapabilityError as exc:
                return {"type": exc.error_type, "message": exc.message}
    """)
    outcome = invoke(code)
    assert outcome.result == {"type": "ConnectionError", "message": "host unreachable"}


def test_handler_exception_is_failed_with_traceback_in_log(plugin: PluginFactory, invoke: Invoke) -> None:
    code = plugin("def handler(event, ctx):\n    raise ValueError('bad input')\n")
    outcome = invoke(code, installation="fail-1")
    assert outcome.status == "failed"
    assert outcome.error == {"type": "ValueError", "message": "bad input"}
    assert "Traceback" in outcome.log_excerpt
    assert invoke(code, installation="fail-1").cold_start is False  # a failure does not cost the worker


def test_broken_plugin_import_fails_cleanly(plugin: PluginFactory, invoke: Invoke) -> None:
    outcome = invoke(plugin("import does_not_exist\n"))
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error["type"] == "ModuleNotFoundError"


def test_concurrent_invocations_serialize_per_installation(plugin: PluginFactory, invoke: Invoke) -> None:
    code = plugin("""
        import time
        BUSY = []
        def handler(event, ctx):
            BUSY.append(1)
            overlap = len(BUSY) > 1
            time.sleep(0.02)
            BUSY.pop()
            return {"overlap": overlap}
    """)
    results: list[object] = []

    def run(installation: str) -> None:
        o = invoke(code, installation=installation)
        results.append(o.result if o.status == "succeeded" else o)

    threads = [threading.Thread(target=run, args=(f"conc-{i % 2}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [{"overlap": False}] * 8


def test_idle_workers_are_reaped(plugin: PluginFactory, executor: SandboxExecutor, invoke: Invoke) -> None:
    code = plugin("def handler(event, ctx):\n    return {}\n")
    assert invoke(code, installation="reap-1").cold_start is True
    before = executor.worker_count()
    assert executor.reap_idle(now=10**9) >= 1
    assert executor.worker_count() < before
    assert invoke(code, installation="reap-1").cold_start is True


def test_missing_bwrap_is_sandbox_unavailable_never_unsandboxed(monkeypatch: object) -> None:
    import chalicelib.adapters.sandbox._environment as environment
    from chalicelib.domain.execution import InvocationRequest, Limits

    monkeypatch.setattr(environment.shutil, "which", lambda name: None)  # type: ignore[attr-defined]
    ex = SandboxExecutor()
    request = InvocationRequest(
        installation_id="i", workspace_id="w", plugin_id="p", version="1", code_dir="/nonexistent",
        entrypoint="main:handler", limits=Limits(memory_mb=64, timeout_s=1),
    )  # fmt: skip
    outcome = ex.invoke(request, FakeBroker([]))
    assert outcome.status == "sandbox_unavailable"
    assert outcome.error is not None and "bubblewrap" in outcome.error["message"]
    ex.close()


def test_a_worker_started_while_the_sweep_asks_is_not_ended_by_it(plugin: PluginFactory) -> None:
    """The sweep asks the store about the workers it listed; one an invocation starts in the meantime (its
    slot listed empty) is none of that answer's business, and lives until a sweep that asked about it."""
    from chalicelib.domain.execution import InvocationRequest, Limits

    code = plugin("def handler(event, ctx):\n    return {}\n")

    def request(installation: str) -> InvocationRequest:
        return InvocationRequest(
            installation_id=installation, workspace_id="ws-1", plugin_id="test-plugin", version="1.0.0",
            code_dir=str(code), entrypoint="main:handler", limits=Limits(memory_mb=64, timeout_s=3.0),
        )  # fmt: skip

    def nothing_wanted(specs: list[WorkerSpec]) -> set[WorkerSpec]:
        return set()

    def answer_while_an_invocation_starts(specs: list[WorkerSpec]) -> set[WorkerSpec]:
        assert [s.installation_id for s in specs] == ["listed"]
        assert ex.invoke(request("racing"), FakeBroker([])).status == "succeeded"
        return set()  # nothing listed is wanted; "racing" was not listed

    ex = SandboxExecutor(idle_ttl_s=60, wanted=answer_while_an_invocation_starts, sweep_interval_s=3600)
    try:
        for installation in ("listed", "racing"):
            assert ex.invoke(request(installation), FakeBroker([])).status == "succeeded"
        assert ex.end_installation("ws-1", "racing")  # its slot stays, empty, as while an invocation starts
        assert ex.reap_idle() == 1 and ex.worker_count() == 1  # "listed" ended, "racing" kept
        ex._wanted = nothing_wanted
        assert ex.reap_idle() == 1 and ex.worker_count() == 0  # asked about now, and unwanted
    finally:
        ex.close()
