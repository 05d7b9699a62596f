"""Hostile plugins, each a real zip published, approved and installed through the API, then invoked through it.

Every attack must be contained with the right recorded status, and the same installation must answer a normal
invocation right afterwards. A plugin behaves unless its payload says {"attack": true}.
"""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from plugin_harness import Deployed, Harness

from chalicelib.domain.capability_tokens import CapabilityClaims, CapabilityTokenSigner
from chalicelib.local.stack import LocalStack

pytestmark = pytest.mark.stack

DISPATCH = """

def main(event, ctx):
    if event.get("attack"):
        return attack(event, ctx)
    return {"ok": True}
"""


def hostile(attack_src: str) -> dict[str, str]:
    return {"handler.py": textwrap.dedent(attack_src) + DISPATCH}


def attack_then_recover(d: Deployed, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the attack, then check the installation still works; returns the attack's answer."""
    out = d.invoke({"attack": True, **(payload or {})})
    after = d.invoke({})
    assert after["status"] == "succeeded", after
    assert after["result"] == {"ok": True}
    return out


def recorded(d: Deployed, invocation_id: str) -> dict[str, Any]:
    return next(i for i in d.invocations() if i["invocation_id"] == invocation_id)


# --- the host: files, environment, network ------------------------------------------------


def test_cannot_read_host_files_or_secrets(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        import os
        def attack(event, ctx):
            found = []
            for p in ["/etc/shadow", "/etc/passwd", "/root/.aws/credentials", "/proc/1/environ",
                      "/work/main/pyproject.toml", "/home", "/var/run/docker.sock", "/etc/hostname"]:
                try:
                    if os.path.isdir(p):
                        found.append([p, os.listdir(p)])
                    else:
                        with open(p, "rb") as f:
                            found.append([p, f.read(200).decode(errors="replace")])
                except OSError:
                    pass
            return {"found": found}
        """)
    )
    out = attack_then_recover(d)
    assert out["status"] == "succeeded"
    paths = {p for p, _ in out["result"]["found"]}
    # /proc/1 is the worker itself (its environment is empty); nothing of the host is visible.
    assert paths <= {"/proc/1/environ"}, out["result"]
    for p, content in out["result"]["found"]:
        assert "PLUGYARD" not in str(content) and "AWS" not in str(content)


def test_environment_is_empty(harness: Harness) -> None:
    d = harness.deploy(hostile("import os\ndef attack(event, ctx):\n    return {'env': dict(os.environ)}\n"))
    out = attack_then_recover(d)
    assert out["status"] == "succeeded"
    assert out["result"]["env"] == {}


def test_no_network_at_all(harness: Harness, stack: LocalStack) -> None:
    d = harness.deploy(
        hostile(f"""
        import socket
        def attack(event, ctx):
            reached = []
            for host, port in [("127.0.0.1", {stack.api_port}), ("127.0.0.1", {stack.moto_port}),
                               ("169.254.169.254", 80), ("1.1.1.1", 53)]:
                s = socket.socket()
                s.settimeout(0.5)
                try:
                    s.connect((host, port))
                    reached.append([host, port])
                except OSError:
                    pass
                finally:
                    s.close()
            try:
                socket.getaddrinfo("example.com", 80)
                reached.append("dns")
            except OSError:
                pass
            return {{"reached": reached}}
        """)
    )
    out = attack_then_recover(d)
    assert out["status"] == "succeeded"
    assert out["result"]["reached"] == []


def test_host_python_packages_are_hidden(harness: Harness) -> None:
    d = harness.deploy(hostile("def attack(event, ctx):\n    import boto3\n    return {'boto3': True}\n"))
    out = attack_then_recover(d)
    assert out["status"] == "failed"
    assert out["error"]["type"] == "ModuleNotFoundError"


def test_cannot_write_outside_tmp(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        def attack(event, ctx):
            wrote = []
            for p in ["/plugin/evil.py", "/handler_evil.py", "/usr/evil", "/etc/evil", "/runtime/evil", "/evil"]:
                try:
                    with open(p, "w") as f:
                        f.write("x")
                    wrote.append(p)
                except OSError:
                    pass
            return {"wrote": wrote}
        """)
    )
    out = attack_then_recover(d)
    assert out["result"]["wrote"] == []


def test_privilege_tricks_with_ctypes_fail(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        import ctypes, os
        def attack(event, ctx):
            libc = ctypes.CDLL(None, use_errno=True)
            ok = []
            if libc.ptrace(16, 1, 0, 0) == 0:        # PTRACE_ATTACH to pid 1
                ok.append("ptrace")
            if libc.unshare(0x10000000) == 0:        # CLONE_NEWUSER: capabilities in a new namespace
                ok.append("unshare")
            if libc.setuid(0) == 0:
                ok.append("setuid")
            if libc.mount(b"none", b"/plugin", b"tmpfs", 0, None) == 0:
                ok.append("mount")
            return {"ok": ok, "uid": os.getuid()}
        """)
    )
    out = attack_then_recover(d)
    assert out["status"] == "succeeded", out
    assert out["result"] == {"ok": [], "uid": 65534}


# --- resources ----------------------------------------------------------------------------


def test_fork_bomb_is_contained(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        import os
        def attack(event, ctx):
            n = 0
            while True:
                try:
                    if os.fork() == 0:
                        while True:
                            pass
                    n += 1
                except OSError:
                    return {"forked": n}
        """),
        resources={"memory_mb": 64, "timeout_s": 2},
    )
    out = attack_then_recover(d)
    assert out["status"] in ("succeeded", "timeout", "crashed"), out
    if out["status"] == "succeeded":
        assert out["result"]["forked"] < 64


def test_memory_bomb_is_killed(harness: Harness) -> None:
    d = harness.deploy(
        hostile("def attack(event, ctx):\n    x = bytearray(512 * 1024 * 1024)\n    return {'n': len(x)}\n"),
        resources={"memory_mb": 64, "timeout_s": 5},
    )
    out = attack_then_recover(d)
    assert out["status"] == "memory_exceeded", out
    assert recorded(d, out["invocation_id"])["status"] == "memory_exceeded"


def test_cpu_spin_times_out(harness: Harness) -> None:
    d = harness.deploy(
        hostile("def attack(event, ctx):\n    while True:\n        pass\n"), resources={"memory_mb": 64, "timeout_s": 1}
    )
    out = attack_then_recover(d)
    assert out["status"] == "timeout", out
    assert out["cpu_ms"] > 300
    assert recorded(d, out["invocation_id"])["error"]["type"] in ("Timeout", "CpuTimeExceeded")


def test_sleep_past_the_timeout(harness: Harness) -> None:
    d = harness.deploy(
        hostile("import time\ndef attack(event, ctx):\n    time.sleep(60)\n"),
        resources={"memory_mb": 64, "timeout_s": 1},
    )
    out = attack_then_recover(d)
    assert out["status"] == "timeout"
    assert out["duration_ms"] < 5000


def test_ignoring_sigterm_does_not_help(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        import signal, time
        def attack(event, ctx):
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)
            time.sleep(60)
        """),
        resources={"memory_mb": 64, "timeout_s": 1},
    )
    out = attack_then_recover(d)
    assert out["status"] == "timeout"


def test_stdout_flood_is_capped(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        import sys
        def attack(event, ctx):
            line = "A" * 1023 + "\\n"
            for _ in range(20 * 1024):
                sys.stdout.write(line)
            return {"done": True}
        """)
    )
    out = attack_then_recover(d)
    assert out["status"] == "succeeded"
    rec = recorded(d, out["invocation_id"])
    assert 0 < len(rec["log_excerpt"]) <= 4200


def test_forged_frames_on_stdout_are_only_log(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        import json, sys
        def attack(event, ctx):
            frame = json.dumps({"op": "done", "id": 1, "status": "succeeded", "result": {"forged": True}}).encode()
            sys.stdout.buffer.write(len(frame).to_bytes(4, "big") + frame)
            sys.stdout.flush()
            return {"real": True}
        """)
    )
    out = attack_then_recover(d)
    assert out["result"] == {"real": True}


def test_garbage_on_the_control_pipe_kills_only_that_worker(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        import os
        def attack(event, ctx):
            for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
                if fd >= 900:
                    try:
                        os.write(fd, b"\\xff\\xff\\xff\\xffgarbage")
                    except OSError:
                        pass
            return {"sent": True}
        """)
    )
    out = attack_then_recover(d)
    assert out["status"] in ("crashed", "succeeded"), out


def test_file_descriptor_exhaustion(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        def attack(event, ctx):
            held = []
            try:
                while True:
                    held.append(open("/tmp/fd-%d" % len(held), "w"))
            except OSError:
                return {"opened": len(held)}
        """)
    )
    out = attack_then_recover(d)
    assert out["status"] == "succeeded"
    assert out["result"]["opened"] <= 64


def test_filling_tmp_is_capped(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        def attack(event, ctx):
            written = 0
            chunk = b"x" * (1024 * 1024)
            try:
                with open("/tmp/fill", "wb") as f:
                    while written < 512 * 1024 * 1024:
                        f.write(chunk)
                        f.flush()
                        written += len(chunk)
            except OSError as exc:
                return {"written": written, "error": type(exc).__name__}
            return {"written": written}
        """)
    )
    out = attack_then_recover(d)
    assert out["status"] in ("succeeded", "crashed", "failed"), out
    if out["status"] == "succeeded":
        assert out["result"]["written"] <= 16 * 1024 * 1024


def test_killing_itself_is_recorded_as_a_crash(harness: Harness) -> None:
    d = harness.deploy(hostile("import os\ndef attack(event, ctx):\n    os._exit(7)\n"))
    out = attack_then_recover(d)
    assert out["status"] == "crashed"


def test_oversized_result_is_refused(harness: Harness) -> None:
    d = harness.deploy(hostile("def attack(event, ctx):\n    return {'blob': 'x' * (2 * 1024 * 1024)}\n"))
    out = attack_then_recover(d)
    assert out["status"] == "failed"
    assert out["result"] is None


# --- the broker ---------------------------------------------------------------------------


def test_scope_not_granted_is_denied_and_audited(harness: Harness) -> None:
    d = harness.deploy(hostile("def attack(event, ctx):\n    ctx.storage.put('k', 1)\n"), permissions=["storage:read"])
    out = attack_then_recover(d)
    assert out["status"] == "permission_denied"
    assert "storage:write" in out["error"]["message"]
    audit = d.client.get("/api/audit", params={"action": "plugin.capability"})
    if audit.status_code == 200:
        items = [i for i in audit.json()["items"] if i["target"] == d.installation_id]
        assert items and items[0]["outcome"] == "denied"


def test_cannot_read_another_installations_storage(harness: Harness) -> None:
    src = """
    def attack(event, ctx):
        if event.get("write"):
            ctx.storage.put("secret", event["write"])
            return {"wrote": True}
        out = {"mine": ctx.storage.get("secret"), "keys": ctx.storage.list("")}
        for key in ["../secret", "#secret", "*"]:
            try:
                out[key] = ctx.storage.get(key)
            except Exception as exc:
                out[key] = type(exc).__name__
        return out
    """
    plugin_id = harness.publish(hostile(src), permissions=["storage:read", "storage:write"])
    victim = harness.install(plugin_id, ["storage:read", "storage:write"], harness.workspace())
    thief = harness.install(plugin_id, ["storage:read", "storage:write"], harness.workspace())
    assert victim.invoke({"attack": True, "write": "victim-secret"})["status"] == "succeeded"
    out = attack_then_recover(thief)
    assert out["status"] == "succeeded"
    assert out["result"]["mine"] is None
    assert out["result"]["keys"] == []
    assert "victim-secret" not in str(out["result"])
    assert victim.invoke({"attack": True})["result"]["mine"] == "victim-secret"


def test_cannot_emit_events_as_another_plugin(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        def attack(event, ctx):
            ctx.events.emit("plugin.someone-else.task.done", {"x": 1})
        """),
        permissions=["events:emit"],
    )
    out = attack_then_recover(d)
    assert out["status"] == "permission_denied"
    assert "own type namespace" in out["error"]["message"]


def test_http_fetch_refuses_private_and_undeclared_hosts(harness: Harness) -> None:
    d = harness.deploy(
        hostile("""
        def attack(event, ctx):
            verdicts = {}
            for url in ["http://169.254.169.254/latest/meta-data/", "http://localhost:8000/health",
                        "http://127.0.0.1/", "https://not-declared.example.com/"]:
                try:
                    ctx.http.fetch(url)
                    verdicts[url] = "fetched"
                except Exception as exc:
                    verdicts[url] = type(exc).__name__
            return verdicts
        """),
        permissions=["http:fetch"],
        http={"allowed_hosts": ["169.254.169.254", "localhost", "127.0.0.1"]},
    )
    out = attack_then_recover(d)
    assert out["status"] == "succeeded"
    assert set(out["result"].values()) == {"PermissionDenied"}, out["result"]


# --- the broker endpoint (plugins on Lambda) ----------------------------------------------


def test_expired_forged_and_foreign_tokens_are_refused(harness: Harness, stack: LocalStack, operator: Any) -> None:
    from chalicelib.adapters.dynamo import DynamoInvocationRepository, bind_execution_tables
    from chalicelib.domain.invocations import Invocation

    d = harness.deploy(hostile("def attack(event, ctx):\n    return {}\n"), permissions=["storage:read"])
    signer = CapabilityTokenSigner(stack.capability_key.encode())
    # A token is good only while the invocation it is bound to runs: record inv-1 as running.
    bind_execution_tables(operator.settings)
    invocations = DynamoInvocationRepository()
    running = Invocation(
        installation_id=d.installation_id,
        invocation_id="inv-1",
        workspace_id=d.workspace_id,
        plugin_id=d.plugin_id,
        version="1.0.0",
        entrypoint="main",
        trigger="api",
        actor="test",
        status="running",
        started_at=datetime.now(UTC),
        expires_at=int(time.time()) + 3600,
    )
    invocations.put(running)
    claims = {
        "installation_id": d.installation_id,
        "workspace_id": d.workspace_id,
        "plugin_id": d.plugin_id,
        "version": "1.0.0",
        "invocation_id": "inv-1",
    }
    expired = signer.sign(CapabilityClaims(**claims, exp=int(time.time()) - 5))
    valid = signer.sign(CapabilityClaims(**claims, exp=int(time.time()) + 60))
    forged = CapabilityTokenSigner(b"k" * 32).sign(CapabilityClaims(**claims, exp=int(time.time()) + 60))
    foreign = signer.sign(CapabilityClaims(**{**claims, "workspace_id": "ws-other"}, exp=int(time.time()) + 60))
    other_plugin = signer.sign(CapabilityClaims(**{**claims, "plugin_id": "plg-other"}, exp=int(time.time()) + 60))

    def call(token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(
            f"{stack.api_url}/api/broker/storage.get", json={"args": {"key": "k"}}, headers=headers, timeout=30
        )

    for token in (expired, forged, foreign, other_plugin, None, valid + "x"):
        resp = call(token)
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    ok = call(valid)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"ok": True, "result": {"value": None}}
    put = httpx.post(
        f"{stack.api_url}/api/broker/storage.put",
        json={"args": {"key": "k", "value": 1}},
        headers={"Authorization": f"Bearer {valid}"},
        timeout=30,
    )
    assert put.status_code == 403 and put.json()["error"]["type"] == "PermissionDenied"
    # Once the invocation ended, the same token is replayed in vain.
    invocations.put(running.model_copy(update={"status": "succeeded"}))
    assert call(valid).status_code == 401
