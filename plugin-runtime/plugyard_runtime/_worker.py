"""The sandbox worker: runs inside bubblewrap, one process per warm installation.

Started as `python -I -S -B -c <bootstrap> <ctl_in_fd> <ctl_out_fd>`. It reads an `init` frame (limits,
entrypoint), applies rlimits, imports the plugin, then serves `invoke` frames until the pipe closes.

What it guarantees, and what it cannot: plugin output goes to fds 1/2, which the host reads as the log,
so nothing printed can be taken for a frame. The control fds are moved to high, close-on-exec numbers so
child processes do not inherit them and a stray write to fd 3/4 hits nothing - but plugin code runs in
this process and can always find them in /proc/self/fd. The host therefore treats every frame as
untrusted: a forged frame can only do what the plugin could do through `ctx` anyway (broker calls are
checked against the granted scopes; a forged result is the plugin's own result) and all metrics are
measured host-side; malformed frames get the worker killed.
"""

from __future__ import annotations

import os
import resource
import sys
import time

from ._errors import PermissionDenied
from .context import PluginContext
from .handler import load_entrypoint
from .protocol import ProtocolError
from .transport import PipeTransport

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~5 ms per cold start
if TYPE_CHECKING:
    from typing import Any

    from .handler import Handler

__all__ = ["main"]

MIB = 1024 * 1024
# Above anything a plugin opens under RLIMIT_NOFILE, so the control fds do not sit on the numbers
# a plugin would naturally write to.
_HIGH_FD = 900


def _move_fd(fd: int) -> int:
    """Re-home a control fd to a high close-on-exec number."""
    import fcntl

    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
    os.close(fd)
    return new


def _close_stray_fds(keep: set[int]) -> None:
    """Close everything bwrap or the host left open (info/block fds) except stdio and ours."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:  # the fd of the directory listing itself, already gone
                continue


def _vm_size_bytes() -> int:
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _apply_limits(limits: dict[str, Any]) -> dict[str, Any]:
    """Set hard rlimits before any plugin code runs (no CAP_SYS_RESOURCE here, so they stick)."""
    applied: dict[str, Any] = {}

    def setr(name: str, which: int, soft: int, hard: int) -> None:
        try:
            resource.setrlimit(which, (soft, hard))
            applied[name] = soft
        except (ValueError, OSError) as exc:  # recorded, not fatal: other layers still hold
            applied[name] = f"failed: {exc}"

    # Address space: what the interpreter already maps plus the plugin's budget.
    as_bytes = _vm_size_bytes() + int(limits["memory_mb"]) * MIB
    setr("RLIMIT_AS", resource.RLIMIT_AS, as_bytes, as_bytes)
    setr("RLIMIT_NOFILE", resource.RLIMIT_NOFILE, *(int(limits["max_open_files"]),) * 2)
    setr("RLIMIT_NPROC", resource.RLIMIT_NPROC, *(int(limits["max_processes"]),) * 2)
    setr("RLIMIT_FSIZE", resource.RLIMIT_FSIZE, *(int(limits["max_file_bytes"]),) * 2)
    setr("RLIMIT_CORE", resource.RLIMIT_CORE, 0, 0)
    cpu_hard = limits.get("cpu_hard_s")
    if cpu_hard:
        # Hard = the worker's lifetime CPU budget; the soft limit is re-armed per invocation.
        setr("RLIMIT_CPU", resource.RLIMIT_CPU, int(cpu_hard), int(cpu_hard))
    return applied


def _arm_cpu(cpu_s: int | None, hard: int | None) -> None:
    """Soft RLIMIT_CPU = CPU used so far + this invocation's budget (SIGXCPU ends the worker)."""
    if not cpu_s or not hard:
        return
    soft = min(int(_cpu_seconds()) + int(cpu_s) + 1, int(hard))
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, int(hard)))
    except (ValueError, OSError):  # the plugin lowered its own limit: keep the lower one
        return


def _print_traceback() -> None:
    """Write the current exception to stderr (the log); traceback is imported only when needed."""
    import traceback

    traceback.print_exc()


def _error(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)[:2000]}


def _end_children() -> None:
    """Kill and reap every other process in the sandbox, so nothing a plugin forked outlives its invocation.

    The worker is pid 1 of its own pid namespace (bwrap --as-pid-1), so kill(-1) reaches exactly the
    namespace's other processes: whatever the plugin forked, double-forked or fork-bombed, all of them
    under the same sandbox uid. Orphans are re-parented to pid 1, so waiting here reaps them all. The
    kernel makes kill(-1) atomic against concurrent forks; the loop repeats until no child is left.
    """
    import signal

    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:  # nothing else is running
            return
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            return
        time.sleep(0.001)


def _run(handler: Handler, ctx: PluginContext, event: dict[str, Any]) -> dict[str, Any]:
    try:
        result = handler(event, ctx)
        if result is not None and not isinstance(result, dict):
            raise TypeError(f"handler returned {type(result).__name__}, expected dict or None")
        return {"status": "succeeded", "result": result}
    except MemoryError:
        # Drop the traceback first: it pins the frames that hold the memory.
        return {"status": "memory_exceeded", "error": {"type": "MemoryError", "message": ""}}
    except PermissionDenied as exc:
        _print_traceback()
        return {"status": "permission_denied", "error": _error(exc)}
    except SystemExit as exc:
        return {"status": "failed", "error": {"type": "SystemExit", "message": str(exc.code)}}
    except BaseException as exc:  # noqa: BLE001 - anything a plugin raises is its failure
        _print_traceback()
        return {"status": "failed", "error": _error(exc)}


def main() -> None:
    """Serve invocations for one installation until the host closes the control pipe."""
    read_fd = _move_fd(int(sys.argv[1]))
    write_fd = _move_fd(int(sys.argv[2]))
    _close_stray_fds({read_fd, write_fd})
    transport = PipeTransport(read_fd, write_fd)
    os.environ.clear()  # bwrap --clearenv still sets PWD, and Python adds LC_CTYPE

    init = transport.receive()
    limits = dict(init.get("limits") or {})
    sys.path.insert(0, "/plugin")
    try:
        _apply_limits(limits)
        handler = load_entrypoint(str(init["entrypoint"]))
    except BaseException as exc:  # noqa: BLE001 - reported to the host as a failed start
        _print_traceback()
        sys.stderr.flush()
        transport.send({"op": "init_failed", "error": _error(exc)})
        os._exit(3)
    cpu_s, cpu_hard = limits.get("cpu_s"), limits.get("cpu_hard_s")
    transport.send({"op": "ready"})  # the host starts the handler's clock here

    while True:
        try:
            frame = transport.receive()
        except Exception:  # noqa: BLE001 - host closed the pipe: shut down
            os._exit(0)
        if frame.get("op") == "reply":
            continue  # answer to a call the plugin forged on the control fd; nobody is waiting for it
        if frame.get("op") != "invoke":
            os._exit(4)
        ctx = PluginContext(
            transport,
            config=frame.get("config") or {},
            granted=list(frame.get("granted") or []),
            installation_id=str(frame.get("installation_id", "")),
            plugin_id=str(frame.get("plugin_id", "")),
            version=str(frame.get("version", "")),
            invocation_id=str(frame.get("id", "")),
        )
        _arm_cpu(cpu_s, cpu_hard)
        started = time.perf_counter()
        outcome = _run(handler, ctx, frame.get("event") or {})
        outcome["worker_ms"] = (time.perf_counter() - started) * 1000
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001, S110 - a plugin may have closed its own stdio
            pass
        _end_children()
        outcome.update(op="done", id=frame.get("id"))
        try:
            transport.send(outcome)
        except (TypeError, ValueError, ProtocolError) as exc:  # result unserializable or too large
            transport.send({"op": "done", "id": frame.get("id"), "status": "failed", "error": _error(exc)})
