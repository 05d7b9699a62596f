"""One sandboxed worker process, seen from the host: spawn, invoke over the control pipes, measure, kill."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugyard_runtime.protocol import FrameDecoder, ProtocolError, encode_frame

from chalicelib.domain.execution import (
    Broker,
    InvocationOutcome,
    InvocationRequest,
    InvocationStatus,
    Limits,
)

from ._accounting import read_cpu_ms, read_peak_mb, reset_peak
from ._cgroup import WorkerCgroup
from ._environment import SandboxEnvironment, SandboxUnavailableError
from ._logs import LogCapture
from ._replies import broker_reply, clean_error

__all__ = ["Launcher", "Worker", "WorkerSpec"]

# Runs a callable on a long-lived thread. bwrap --die-with-parent kills the sandbox when the *thread*
# that forked it exits (PR_SET_PDEATHSIG is per thread), and API request threads are short-lived.
Launcher = Callable[[Callable[[], "subprocess.Popen[bytes]"]], "subprocess.Popen[bytes]"]

MIB = 1024 * 1024
_SPAWN_TIMEOUT_S = 10.0  # bwrap reports the child pid within milliseconds; this is a hang guard
_INIT_TIMEOUT_S = 5.0  # interpreter start + plugin import, on top of the handler's own timeout
_CGROUP_HEADROOM_MB = 32  # interpreter, shared libraries and page cache around the plugin's budget
_READ = select.POLLIN | select.POLLHUP | select.POLLERR


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a warm worker is bound to; a request with a different spec needs a new worker."""

    workspace_id: str
    installation_id: str
    plugin_id: str
    version: str
    code_dir: str
    entrypoint: str
    limits: Limits

    @classmethod
    def of(cls, request: InvocationRequest) -> WorkerSpec:
        """The spec a request needs."""
        return cls(
            request.workspace_id,
            request.installation_id,
            request.plugin_id,
            request.version,
            os.path.realpath(request.code_dir),
            request.entrypoint,
            request.limits,
        )

    @property
    def cpu_hard_s(self) -> int | None:
        """Lifetime CPU budget of one worker (RLIMIT_CPU hard); it is replaced before reaching it."""
        cpu_s = self.limits.cpu_s
        return None if cpu_s is None else cpu_s * 20 + 10


class _Died(Exception):
    """The worker's control pipe closed: the process is gone."""


class Worker:
    """A warm sandbox bound to one installation; not thread-safe (the executor serializes use)."""

    def __init__(
        self, env: SandboxEnvironment, spec: WorkerSpec, cgroup_parents: dict[str, Path], launcher: Launcher
    ) -> None:
        self.spec = spec
        self._launcher = launcher
        self.env = env
        self.last_used = time.monotonic()
        self.invocations = 0
        self.retired = False  # over budget, crashed or misbehaving: never reused
        self.cgroup = WorkerCgroup(
            cgroup_parents,
            memory_bytes=(spec.limits.memory_mb + spec.limits.tmpfs_mb + _CGROUP_HEADROOM_MB) * MIB,
            max_processes=spec.limits.max_processes,
        )
        self.pid = 0  # host pid of the python worker (pid 1 inside the sandbox)
        self._last_metrics = (0.0, 0.0)  # cpu_ms, peak_mb read just before a kill
        self._decoder = FrameDecoder()
        self._out = bytearray()
        self._poll = select.poll()
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawn()

    # -- lifecycle -------------------------------------------------------------------------

    def _spawn(self) -> None:
        to_r, self._to_w = os.pipe2(os.O_CLOEXEC)
        self._from_r, from_w = os.pipe2(os.O_CLOEXEC)
        self._log_r, log_w = os.pipe2(os.O_CLOEXEC)
        info_r, info_w = os.pipe2(os.O_CLOEXEC)
        block_r, block_w = os.pipe2(os.O_CLOEXEC)
        argv = self.env.command(
            code_dir=self.spec.code_dir,
            tmpfs_mb=self.spec.limits.tmpfs_mb,
            extra_fds={"--info-fd": info_w, "--block-fd": block_r},
        )
        try:
            self._proc = self._launcher(
                # bwrap's argv from our own resolved paths; the plugin's code is only bound read-only inside it.
                lambda: subprocess.Popen(  # noqa: S603
                    [*argv, str(to_r), str(from_w)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_w,
                    stderr=log_w,
                    pass_fds=(to_r, from_w, info_w, block_r),
                    env={},
                    start_new_session=True,  # its own process group, so a kill reaches bwrap too
                )
            )
        except OSError as exc:
            for fd in (to_r, from_w, log_w, info_r, info_w, block_r, block_w):
                os.close(fd)
            raise SandboxUnavailableError(f"could not start bwrap: {exc}") from None
        for fd in (to_r, from_w, log_w, info_w, block_r):
            os.close(fd)
        try:
            self.pid = self._read_child_pid(info_r)
            # Into the cgroups before the interpreter starts, so all of its memory is charged there.
            self.cgroup.attach(self.pid)
            os.write(block_w, b"go")
        finally:
            os.close(info_r)
            os.close(block_w)
        os.set_blocking(self._to_w, False)
        os.set_blocking(self._from_r, False)
        os.set_blocking(self._log_r, False)
        self._poll.register(self._from_r, _READ)
        self._poll.register(self._log_r, _READ)
        limits = self.spec.limits.model_dump()
        limits["cpu_hard_s"] = self.spec.cpu_hard_s
        self._out += encode_frame({"op": "init", "entrypoint": self.spec.entrypoint, "limits": limits})

    def _read_child_pid(self, info_r: int) -> int:
        """bwrap writes {"child-pid": N} to --info-fd once the namespaces exist."""
        data = b""
        deadline = time.monotonic() + _SPAWN_TIMEOUT_S
        while b"}" not in data:
            ready, _, _ = select.select([info_r], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(info_r, 4096) if ready else b""
            if not chunk:
                self.kill()
                raise SandboxUnavailableError(f"bubblewrap failed to start the sandbox: {self._drain_log()}")
            data += chunk
        from plugyard_runtime.protocol import loads

        return int(loads(data.decode())["child-pid"])

    def alive(self) -> bool:
        """Whether the worker process is still running."""
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the sandbox (pid 1 dying takes its whole pid namespace) and release everything."""
        self.retired = True
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        for fd in (self._to_w, self._from_r, self._log_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.cgroup.remove()

    # -- one invocation --------------------------------------------------------------------

    def invoke(self, request: InvocationRequest, broker: Broker, *, cold: bool) -> InvocationOutcome:
        """Run one invocation on this worker; the worker is retired if it went over budget."""
        started = time.perf_counter()
        limits = request.limits
        log = LogCapture(limits.max_log_bytes)
        self._drain_log()  # output of background threads since the last invocation belongs to none
        cpu_before = 0.0 if cold else read_cpu_ms(self.pid)
        if not cold:
            reset_peak(self.pid)
        invocation_id = self.invocations + 1
        self.invocations = invocation_id
        self._out += encode_frame(
            {
                "op": "invoke",
                "id": invocation_id,
                "event": request.event,
                "config": request.config,
                "granted": request.granted_scopes,
                "installation_id": request.installation_id,
                "plugin_id": request.plugin_id,
                "version": request.version,
            }
        )
        deadline = time.monotonic() + limits.timeout_s + (_INIT_TIMEOUT_S if cold else 0.0)
        status: InvocationStatus
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        try:
            done = self._serve(invocation_id, broker, log, deadline, limits.timeout_s)
            status, result, error = self._classify_done(done)
        except TimeoutError:
            status = "timeout"
            error = {"type": "Timeout", "message": f"exceeded the {limits.timeout_s:g} s time limit"}
            self._measure_and_kill(log)
        except _Died:
            status, error = self._classify_death(log)
        except ProtocolError as exc:
            status = "crashed"
            error = {"type": "ProtocolViolation", "message": str(exc)}
            self._measure_and_kill(log)
        cpu_ms, peak_mb = self._last_metrics if self._proc is None else (read_cpu_ms(self.pid), read_peak_mb(self.pid))
        self.last_used = time.monotonic()
        if self._proc is not None and (status == "memory_exceeded" or self._over_cpu_budget(cpu_ms)):
            self.kill()
        return InvocationOutcome(
            status=status,
            result=result,
            error=error,
            duration_ms=(time.perf_counter() - started) * 1000,
            cpu_ms=max(0.0, cpu_ms - cpu_before),
            peak_memory_mb=peak_mb,
            log_excerpt=log.text(),
            cold_start=cold,
        )

    def _serve(
        self, invocation_id: int, broker: Broker, log: LogCapture, deadline: float, timeout_s: float
    ) -> dict[str, Any]:
        """Pump frames and log until the worker reports `done`; broker calls are answered inline."""
        while True:
            message = self._decoder.next()
            if message is not None:
                op = message.get("op")
                if op == "done" and message.get("id") == invocation_id:
                    self._drain_log(log)
                    return message
                if op == "call":
                    self._out += encode_frame(broker_reply(message, broker))
                    continue
                if op == "ready":
                    deadline = time.monotonic() + timeout_s  # the handler's clock starts now
                    continue
                if op == "init_failed":
                    self._drain_log(log)
                    return {"status": "failed", "error": message.get("error"), "init_failed": True}
                raise ProtocolError(f"unexpected frame {str(op)[:40]!r}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if self._out:
                self._poll.register(self._to_w, select.POLLOUT)
            try:
                events = self._poll.poll(remaining * 1000)
            finally:
                if self._out:
                    self._poll.unregister(self._to_w)
            for fd, _ in events:
                if fd == self._to_w:
                    self._flush_out()
                elif fd == self._log_r:
                    self._read_into(self._log_r, log)
                elif not self._read_control():
                    self._drain_log(log)
                    raise _Died

    def _classify_done(
        self, done: dict[str, Any]
    ) -> tuple[InvocationStatus, dict[str, Any] | None, dict[str, Any] | None]:
        status = done.get("status")
        result = done.get("result")
        error = done.get("error")
        if done.get("init_failed"):
            self._measure_and_kill(None)
        if status not in ("succeeded", "failed", "permission_denied", "memory_exceeded"):
            raise ProtocolError(f"unknown status {str(status)[:40]!r}")
        return (
            status,
            result if isinstance(result, dict) else None,
            clean_error(error) if status != "succeeded" else None,
        )

    def _classify_death(self, log: LogCapture) -> tuple[InvocationStatus, dict[str, Any]]:
        """The worker exited mid-invocation: OOM, CPU limit or a crash."""
        proc = self._proc
        code = None
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = proc.wait(timeout=2)
        oom = self.cgroup.oom_killed()
        self._measure_and_kill(log)
        # bwrap exits 128+N when its child dies of signal N.
        if oom or code == 128 + signal.SIGKILL or "MemoryError" in log.text()[-2000:]:
            return "memory_exceeded", {"type": "MemoryExceeded", "message": "killed for exceeding its memory limit"}
        if code == 128 + signal.SIGXCPU:
            return "timeout", {"type": "CpuTimeExceeded", "message": "exceeded its CPU time limit"}
        return "crashed", {"type": "WorkerCrashed", "message": f"sandbox worker exited with status {code}"}

    def _measure_and_kill(self, log: LogCapture | None) -> None:
        self._last_metrics = (read_cpu_ms(self.pid), read_peak_mb(self.pid)) if self.pid else (0.0, 0.0)
        self.kill()
        if log is not None:
            with contextlib.suppress(OSError):
                self._read_into(self._log_r, log)

    def pending_control_data(self) -> bool:
        """Frames the host did not ask for (e.g. forged by the plugin between invocations)."""
        if self._decoder.pending:
            return True
        return any(fd == self._from_r for fd, _ in self._poll.poll(0))

    # -- pipes -----------------------------------------------------------------------------

    def _flush_out(self) -> None:
        try:
            written = os.write(self._to_w, self._out)
        except BlockingIOError:
            return
        except BrokenPipeError:
            raise _Died from None
        del self._out[:written]

    def _read_control(self) -> bool:
        """Feed whatever control bytes are available to the decoder; False at end of file."""
        try:
            chunk = os.read(self._from_r, 1 << 16)
        except BlockingIOError:
            return True
        except OSError:
            return False
        self._decoder.feed(chunk)
        return bool(chunk)

    def _read_into(self, fd: int, log: LogCapture) -> None:
        for _ in range(64):  # bounded per wake-up so a flood cannot starve the control pipe
            try:
                chunk = os.read(fd, 1 << 16)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            log.add(chunk)

    def _drain_log(self, log: LogCapture | None = None) -> str:
        sink = log if log is not None else LogCapture(4096)
        with contextlib.suppress(OSError):
            self._read_into(self._log_r, sink)
        return sink.text()

    # -- accounting (host-side: nothing the worker reports about itself is trusted) ---------

    def _over_cpu_budget(self, cpu_ms: float) -> bool:
        hard, cpu_s = self.spec.cpu_hard_s, self.spec.limits.cpu_s
        return hard is not None and cpu_s is not None and cpu_ms / 1000 + cpu_s + 1 >= hard
