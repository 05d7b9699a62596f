"""Malicious plugins, each contained with the right status; the same installation works right after."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .conftest import FakeBroker, Invoke, PluginFactory

ATTACK = {"attack": True}


def contained(invoke: Invoke, code: object, installation: str, **kw: object):  # type: ignore[no-untyped-def]
    """Run the attack, then check a normal invocation of the same installation still succeeds."""
    outcome = invoke(code, ATTACK, installation=installation, **kw)
    after = invoke(code, {"attack": False}, installation=installation, **kw)
    assert after.status == "succeeded" and after.result == {"ok": True}, after
    return outcome


def test_host_files_are_not_visible(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import os
        def attack(event, ctx):
            seen = {}
            for path in ["/etc/shadow", "/etc/passwd", "/root", "/home", "/work", "/var", "/proc/1/root/etc"]:
                try:
                    seen[path] = os.listdir(path) if os.path.isdir(path) else open(path).read()[:50]
                except OSError as exc:
                    seen[path] = type(exc).__name__
            return {"seen": seen, "root": sorted(os.listdir("/"))}
    """)
    outcome = contained(invoke, code, "files-1")
    seen = outcome.result["seen"]  # type: ignore[index]
    assert seen["/etc/shadow"] == seen["/etc/passwd"] == "FileNotFoundError"
    assert seen["/work"] == seen["/home"] == "FileNotFoundError"
    # /root exists only as the path to a pyenv interpreter prefix, which is bound read-only.
    assert seen["/root"] in ("FileNotFoundError", [".pyenv"])
    assert set(outcome.result["root"]) <= {
        "bin",
        "dev",
        "lib",
        "lib64",
        "plugin",
        "proc",
        "root",
        "runtime",
        "tmp",
        "usr",
    }  # type: ignore[index]


def test_environment_is_empty(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import os
        def attack(event, ctx):
            raw = open("/proc/self/environ", "rb").read().split(b"\\0")
            return {"env": dict(os.environ), "raw": [r.decode() for r in raw if r], "uid": os.getuid()}
    """)
    result = contained(invoke, code, "env-1").result or {}
    assert result["env"] == {}
    assert result["raw"] in ([], ["PWD=/tmp"])  # bwrap always sets PWD; nothing from the host
    assert result["uid"] == 65534


@pytest.fixture
def host_listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def test_no_network_to_the_host(hostile: PluginFactory, invoke: Invoke, host_listener: int) -> None:
    code = hostile("""
        import socket
        def attack(event, ctx):
            errors = []
            for host in ["127.0.0.1", "10.0.2.2", "1.1.1.1"]:
                try:
                    socket.create_connection((host, event["port"]), timeout=0.5)
                    errors.append("connected")
                except OSError as exc:
                    errors.append(type(exc).__name__)
            return {"errors": errors}
    """)
    outcome = invoke(code, {**ATTACK, "port": host_listener}, installation="net-1")
    assert "connected" not in outcome.result["errors"]  # type: ignore[index]


def test_fork_bomb_is_contained(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import os
        def attack(event, ctx):
            children = 0
            try:
                while True:
                    if os.fork() == 0:
                        import time
                        time.sleep(30)
                        os._exit(0)
                    children += 1
            except OSError as exc:
                return {"children": children, "error": type(exc).__name__}
    """)
    outcome = contained(invoke, code, "fork-1", max_processes=16)
    assert outcome.status in ("succeeded", "timeout", "crashed", "memory_exceeded"), outcome
    if outcome.status == "succeeded":
        assert outcome.result["children"] < 16  # type: ignore[index]


def test_memory_bomb_is_memory_exceeded(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        def attack(event, ctx):
            hog = []
            while True:
                hog.append(bytearray(8 * 1024 * 1024))
    """)
    outcome = contained(invoke, code, "mem-1", memory_mb=48)
    assert outcome.status == "memory_exceeded", outcome


def test_cpu_spin_hits_the_limit(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("def attack(event, ctx):\n    while True:\n        pass\n")
    outcome = contained(invoke, code, "cpu-1", cpu_s=1, timeout_s=1.5)
    assert outcome.status == "timeout", outcome
    assert outcome.error is not None
    if outcome.error["type"] == "CpuTimeExceeded":
        assert outcome.cpu_ms >= 900
    else:  # on a loaded machine the 1.5 s wall clock can run out before 1 s of CPU is spent
        assert outcome.error["type"] == "Timeout" and outcome.cpu_ms > 0, outcome


def test_sleep_past_timeout_and_ignoring_sigterm(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import signal, time
        def attack(event, ctx):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            time.sleep(60)
    """)
    outcome = contained(invoke, code, "sleep-1", timeout_s=0.5)
    assert outcome.status == "timeout"
    assert outcome.duration_ms < 2000


def test_stdout_flood_is_capped(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import sys
        def attack(event, ctx):
            line = "x" * 1023 + "\\n"
            for _ in range(20_000):
                sys.stdout.write(line)
            print("THE END")
            return {"done": True}
    """)
    outcome = contained(invoke, code, "flood-1", max_log_bytes=8192)
    assert outcome.status == "succeeded" and outcome.result == {"done": True}
    assert len(outcome.log_excerpt) < 8192 + 200
    assert "bytes of log truncated" in outcome.log_excerpt
    assert outcome.log_excerpt.rstrip().endswith("THE END")


def test_fd_exhaustion_is_the_plugins_problem(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        def attack(event, ctx):
            files = []
            try:
                while True:
                    files.append(open("/dev/null"))
            except OSError as exc:
                return {"opened": len(files), "error": type(exc).__name__}
    """)
    outcome = contained(invoke, code, "fds-1", max_open_files=32)
    assert outcome.result is not None and outcome.result["opened"] < 32


def test_tmp_is_size_capped_and_the_rest_is_read_only(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import os
        def attack(event, ctx):
            written, result = 0, {}
            try:
                with open("/tmp/fill", "wb") as f:
                    while True:
                        f.write(b"x" * 65536)
                        written += 65536
            except OSError as exc:
                result["fill"] = exc.errno
            for path in ["/plugin/evil.py", "/usr/evil", "/evil", "/runtime/plugyard_runtime/evil.py"]:
                try:
                    open(path, "w").write("x")
                    result[path] = "written"
                except OSError as exc:
                    result[path] = type(exc).__name__
            result["written"] = written
            return result
    """)
    outcome = contained(invoke, code, "tmp-1", tmpfs_mb=4, max_file_bytes=64 * 1024 * 1024)
    result = outcome.result or {}
    assert result["written"] <= 4 * 1024 * 1024
    assert "written" not in [
        result[p] for p in ["/plugin/evil.py", "/usr/evil", "/evil", "/runtime/plugyard_runtime/evil.py"]
    ]


def test_ctypes_and_ptrace_tricks_fail(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import ctypes, os
        def attack(event, ctx):
            libc = ctypes.CDLL(None, use_errno=True)
            return {
                "setuid": libc.setuid(0),
                "mount": libc.mount(b"none", b"/usr", b"tmpfs", 0, None),
                "ptrace_parent": libc.ptrace(16, os.getppid(), None, None),  # PTRACE_ATTACH
                "unshare": libc.unshare(0x10000000),  # CLONE_NEWUSER: no nesting out
                "chroot": libc.chroot(b"/tmp"),
                "uid": os.getuid(),
                "caps": [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1],
            }
    """)
    result = contained(invoke, code, "ctypes-1").result or {}
    assert result["setuid"] == result["mount"] == result["ptrace_parent"] == result["chroot"] == -1
    assert result["unshare"] == -1  # --disable-userns: no nested namespace to regain capabilities in
    assert result["uid"] == 65534
    assert int(result["caps"], 16) == 0


def test_printing_a_frame_forges_nothing(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import json, sys
        def attack(event, ctx):
            for message in ({"op": "done", "id": 1, "status": "succeeded", "result": {"forged": True}},
                            {"op": "call", "id": 99, "name": "events.emit", "args": {"type": "x", "data": {}}}):
                body = json.dumps(message).encode()
                sys.stdout.buffer.write(len(body).to_bytes(4, "big") + body)
                sys.stdout.flush()
            return {"real": True}
    """)
    broker = FakeBroker(["storage:read"])
    outcome = contained(invoke, code, "forge-1", broker=broker, granted=["storage:read"])
    assert outcome.result == {"real": True}
    assert broker.calls == []


def test_writing_the_control_fd_cannot_escalate(hostile: PluginFactory, invoke: Invoke) -> None:
    code = hostile("""
        import json, os
        def attack(event, ctx):
            body = json.dumps({"op": "call", "id": 7, "name": "events.emit",
                               "args": {"type": "x", "data": {}}}).encode()
            fds = [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2]
            for fd in fds:
                try:
                    os.write(fd, len(body).to_bytes(4, "big") + body)
                except OSError:
                    pass
            return {"fds": fds}
    """)
    broker = FakeBroker(["storage:read"])
    outcome = contained(invoke, code, "forge-2", broker=broker, granted=["storage:read"])
    # Whatever the plugin writes, the broker still refuses scopes it lacks.
    assert broker.emitted == []
    assert outcome.status in ("succeeded", "crashed", "failed"), outcome
