"""Host-side accounting of a worker process, read from /proc: nothing the worker reports about itself is trusted."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["read_cpu_ms", "read_peak_mb", "reset_peak"]

_TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def read_cpu_ms(pid: int) -> float:
    """utime+stime of the worker and its reaped children; per-thread schedstat for sub-tick precision."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        tick_ms = ticks * _TICK_MS
        children_ms = (int(fields[13]) + int(fields[14])) * _TICK_MS
        sched_ns = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            sched_ns += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_bytes().split()[0])
        return max(tick_ms, sched_ns / 1e6 + children_ms)
    except (OSError, ValueError, IndexError):
        return 0.0


def read_peak_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) since the last reset, 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_bytes().splitlines():
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def reset_peak(pid: int) -> None:
    """Start a new peak, so each invocation reports its own."""
    # "5" resets VmHWM to the current RSS, so each invocation reports its own peak.
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_bytes(b"5")
