"""`SandboxExecutor`: the local executor — warm bubblewrap workers, one per installation."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.domain.execution import Broker, InvocationOutcome, InvocationRequest

from ._cgroup import cgroup_parents
from ._environment import SandboxEnvironment, SandboxUnavailableError
from ._worker import Worker, WorkerSpec

__all__ = ["SandboxExecutor", "WorkerWanted"]

log = logging.getLogger(__name__)

# Given the specs of idle workers, the ones whose installation is still enabled on that version. One call
# per sweep whatever the number of workers: a store answers it with one batch read.
WorkerWanted = Callable[[list[WorkerSpec]], set[WorkerSpec]]


@dataclass
class _Slot:
    """The warm worker of one installation. Its lock serializes that installation's invocations."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    worker: Worker | None = None


class SandboxExecutor:
    """Runs plugin handlers in bubblewrap sandboxes on this machine.

    Concurrency: invocations of one installation serialize on its single warm worker (bounded memory,
    and plugin code never sees two invocations at once, matching one Lambda instance); different
    installations run in parallel. Workers are keyed by (workspace_id, installation_id) and never shared.
    """

    def __init__(
        self,
        *,
        python_executable: str | None = None,
        idle_ttl_s: float = 300,
        max_workers: int = 64,
        runtime_path: str | None = None,
        wanted: WorkerWanted | None = None,
        sweep_interval_s: float = 0.2,
    ) -> None:
        """``wanted`` is asked every ``sweep_interval_s`` about the idle workers, all at once: a worker whose
        installation was disabled, uninstalled or moved to another version (by any process of the stack) is
        ended then."""
        self._python_executable = python_executable
        self._runtime_path = runtime_path
        self._idle_ttl_s = idle_ttl_s
        self._max_workers = max_workers
        self._wanted = wanted
        self._sweep_interval_s = sweep_interval_s
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._lock = threading.Lock()
        self._env: SandboxEnvironment | None = None
        self._unavailable: str | None = None
        self._cgroup_parents: dict[str, Path] = {}
        self._closed = threading.Event()
        self._reaper: threading.Thread | None = None
        # Long-lived threads that fork the sandboxes (see Launcher); a few, so cold starts overlap.
        self._spawner = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sandbox-spawner")

    # -- public API ------------------------------------------------------------------------

    def check(self) -> SandboxEnvironment:
        """Resolve and probe the sandbox once; raises SandboxUnavailableError naming the cause."""
        with self._lock:
            if self._env is not None:
                return self._env
            if self._unavailable is not None:
                raise SandboxUnavailableError(self._unavailable)
            try:
                env = SandboxEnvironment.resolve(self._python_executable, self._runtime_path)
                env.probe()
            except SandboxUnavailableError as exc:
                self._unavailable = str(exc)
                raise
            self._cgroup_parents = cgroup_parents()
            self._env = env
            return env

    @property
    def cgroup_controls(self) -> list[str]:
        """Which cgroup controllers limit workers on this machine (empty: rlimits only)."""
        return sorted(self._cgroup_parents)

    def invoke(self, request: InvocationRequest, broker: Broker) -> InvocationOutcome:
        """Run one invocation in the installation's warm worker (spawning it if needed)."""
        started = time.perf_counter()
        try:
            env = self.check()
        except SandboxUnavailableError as exc:
            return _unavailable(str(exc), started)
        if self._closed.is_set():
            return _unavailable("the sandbox executor is closed", started)
        self._start_reaper()
        slot = self._slot(request)
        with slot.lock:
            spec = WorkerSpec.of(request)
            worker = slot.worker
            if worker is not None and (
                worker.retired or worker.spec != spec or not worker.alive() or worker.pending_control_data()
            ):
                worker.kill()
                worker = slot.worker = None
            if worker is None:
                if not self._make_room(slot):
                    return _unavailable(f"all {self._max_workers} sandbox workers are busy", started)
                try:
                    worker = slot.worker = Worker(env, spec, self._cgroup_parents, self._launch)
                except SandboxUnavailableError as exc:
                    return _unavailable(str(exc), started)
            # A worker started ahead of its first invocation (prewarm) is still cold for it: its start-up
            # counts toward that invocation's CPU time and deadline, as when the invocation starts it.
            outcome = worker.invoke(request, broker, cold=worker.invocations == 0)
            if worker.retired:
                slot.worker = None
        return outcome

    def prewarm(self, request: InvocationRequest) -> bool:
        """Start the installation's worker for ``request``'s spec now (a development upload's new code), so
        the next invocation finds it running; False when one with that spec runs already or none can start."""
        try:
            env = self.check()
        except SandboxUnavailableError:
            return False
        if self._closed.is_set():
            return False
        self._start_reaper()
        slot = self._slot(request)
        with slot.lock:
            spec = WorkerSpec.of(request)
            worker = slot.worker
            if worker is not None and worker.spec == spec and worker.alive() and not worker.retired:
                return False
            if worker is not None:
                worker.kill()
                slot.worker = None
            if not self._make_room(slot):
                return False
            try:
                slot.worker = Worker(env, spec, self._cgroup_parents, self._launch)
            except SandboxUnavailableError:
                return False
        return True

    def close(self) -> None:
        """Kill every worker; later invocations answer sandbox_unavailable."""
        self._closed.set()
        with self._lock:
            slots = list(self._slots.values())
            self._slots.clear()
        for slot in slots:
            worker = slot.worker
            if worker is not None:
                worker.kill()
        if self._reaper is not None:
            self._reaper.join(timeout=5)
        self._spawner.shutdown(wait=False)

    def worker_count(self) -> int:
        """Live warm workers (for health checks and tests)."""
        with self._lock:
            return sum(1 for s in self._slots.values() if s.worker is not None and s.worker.alive())

    def end_installation(self, workspace_id: str, installation_id: str) -> bool:
        """End the installation's warm worker now (waiting for a running invocation); True if one was running."""
        with self._lock:
            slot = self._slots.get((workspace_id, installation_id))
        if slot is None:
            return False
        with slot.lock:
            worker, slot.worker = slot.worker, None
            if worker is None:
                return False
            worker.kill()
            return True

    def reap_idle(self, now: float | None = None) -> int:
        """Kill workers idle past idle_ttl_s, crashed, retired or no longer wanted; returns how many."""
        now = time.monotonic() if now is None else now
        with self._lock:
            items = list(self._slots.items())
        asked = {s.worker.spec for _, s in items if s.worker is not None}
        wanted = self._still_wanted(list(asked))
        removed = 0
        for key, slot in items:
            if not slot.lock.acquire(blocking=False):
                continue  # busy, so not idle
            try:
                worker = slot.worker
                if worker is not None and (
                    worker.retired
                    or not worker.alive()
                    or now - worker.last_used > self._idle_ttl_s
                    # Only a spec the store was asked about can be unwanted: a worker an invocation started while
                    # the store answered (its slot empty when listed) is judged at the next sweep.
                    or (wanted is not None and worker.spec in asked and worker.spec not in wanted)
                ):
                    worker.kill()
                    slot.worker = None
                    removed += 1
                if slot.worker is None:
                    with self._lock:
                        if self._slots.get(key) is slot:
                            del self._slots[key]
            finally:
                slot.lock.release()
        return removed

    # -- internals -------------------------------------------------------------------------

    def _slot(self, request: InvocationRequest) -> _Slot:
        key = (request.workspace_id, request.installation_id)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            return slot

    def _make_room(self, needed_by: _Slot) -> bool:
        """Evict least-recently-used idle workers until a new one fits under max_workers."""
        while True:
            with self._lock:
                live = [s for s in self._slots.values() if s is not needed_by and s.worker is not None]
            if len(live) < self._max_workers:
                return True
            for slot in sorted(live, key=lambda s: s.worker.last_used if s.worker else 0.0):
                if slot.lock.acquire(blocking=False):
                    try:
                        if slot.worker is not None:
                            slot.worker.kill()
                            slot.worker = None
                            break
                    finally:
                        slot.lock.release()
            else:
                return False

    def _still_wanted(self, specs: list[WorkerSpec]) -> set[WorkerSpec] | None:
        """The specs still wanted, or None to keep every worker (no check configured, or the store failed)."""
        if self._wanted is None or not specs:
            return None
        try:
            return self._wanted(specs)
        except Exception:  # the store is unreachable: keep the workers, the next sweep asks again
            log.warning("could not check %d installations; keeping their workers", len(specs), exc_info=True)
            return None

    def _launch(self, start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        return self._spawner.submit(start).result()

    def _start_reaper(self) -> None:
        if self._reaper is not None:
            return
        with self._lock:
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap_loop, name="sandbox-reaper", daemon=True)
                self._reaper.start()

    def _reap_loop(self) -> None:
        interval = min(max(self._idle_ttl_s / 4, 0.05), 30.0)
        if self._wanted is not None:
            interval = min(interval, self._sweep_interval_s)
        while not self._closed.wait(interval):
            self.reap_idle()


def _unavailable(message: str, started: float) -> InvocationOutcome:
    return InvocationOutcome(
        status="sandbox_unavailable",
        error={"type": "SandboxUnavailableError", "message": message},
        duration_ms=(time.perf_counter() - started) * 1000,
    )
