"""Per-worker cgroup v1 memory and pids limits, where this process may create child cgroups.

Skipped silently (and recorded in `applied`) where cgroups are v2-only, read-only or absent:
the rlimits set inside the worker still hold.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

__all__ = ["WorkerCgroup", "cgroup_parents"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count()


def cgroup_parents() -> dict[str, Path]:
    """Writable v1 cgroup dirs (by controller) that this process belongs to."""
    parents: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return parents
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in ("memory", "pids"):
            if controller in controllers.split(","):
                directory = _CGROUP_ROOT / controller / path.lstrip("/")
                if os.access(directory, os.W_OK) and (directory / "cgroup.procs").exists():
                    parents[controller] = directory
    return parents


class WorkerCgroup:
    """Child cgroups for one worker; `applied` says which limits actually took effect."""

    def __init__(self, parents: dict[str, Path], *, memory_bytes: int, max_processes: int) -> None:
        self.dirs: dict[str, Path] = {}
        self.applied: list[str] = []
        name = f"plugyard-{os.getpid()}-{next(_counter)}"
        for controller, parent in parents.items():
            directory = parent / name
            try:
                directory.mkdir()
                if controller == "memory":
                    (directory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                    with contextlib.suppress(OSError):  # only with swap accounting enabled
                        (directory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
                    self.applied.append("memory.limit_in_bytes")
                else:
                    (directory / "pids.max").write_text(str(max_processes))
                    self.applied.append("pids.max")
                self.dirs[controller] = directory
            except OSError:
                with contextlib.suppress(OSError):
                    directory.rmdir()

    def attach(self, pid: int) -> None:
        """Move `pid` (not yet running plugin code) into every cgroup created."""
        for controller, directory in list(self.dirs.items()):
            try:
                (directory / "cgroup.procs").write_text(str(pid))
            except OSError:
                self.applied = [a for a in self.applied if not a.startswith(controller)]

    def oom_killed(self) -> bool:
        """Whether the memory cgroup hit its limit and the kernel killed something."""
        directory = self.dirs.get("memory")
        if directory is None:
            return False
        try:
            for line in (directory / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                    return True
            return int((directory / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    def remove(self) -> None:
        """Delete the cgroups (they must be empty: call after the worker is dead)."""
        for directory in self.dirs.values():
            for _ in range(50):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    # The pid namespace is torn down asynchronously after pid 1 exits.
                    import time

                    time.sleep(0.002)
        self.dirs.clear()
