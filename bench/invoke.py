"""Sandbox invocation benchmark: cold start, warm round trip and memory, against floors measured in this run.

    python bench/invoke.py [--runs 30]

Floors: spawning a bare interpreter (`python -c pass`, and `python -I -S -c pass` for reference) and the
RSS of a bare interpreter. Targets: cold <= 1.5x bare spawn, warm p50 <= 5 ms, RSS <= bare + 10 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugin-runtime")]

from chalicelib.adapters.sandbox import SandboxExecutor  # noqa: E402
from chalicelib.domain.execution import InvocationRequest, Limits  # noqa: E402

TRIVIAL = "def handler(event, ctx):\n    return {'echo': event.get('n')}\n"


def _spawn_ms(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, env={})
        times.append((time.perf_counter() - started) * 1000)
    return times


def _bare_rss_mb(python: str) -> float:
    code = "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    return int(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout) / 1024


def _broker(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {}


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    python = os.path.realpath(sys.executable)
    bare = statistics.median(_spawn_ms([python, "-c", "pass"], runs))
    bare_is = statistics.median(_spawn_ms([python, "-I", "-S", "-c", "pass"], runs))
    bare_rss = _bare_rss_mb(python)

    executor = SandboxExecutor(idle_ttl_s=600)
    executor.check()
    with tempfile.TemporaryDirectory() as code_dir:
        Path(code_dir, "main.py").write_text(TRIVIAL)

        def request(installation: str, n: int) -> InvocationRequest:
            return InvocationRequest(
                installation_id=installation, workspace_id="bench", plugin_id="bench", version="1.0.0",
                code_dir=code_dir, entrypoint="main:handler", event={"n": n},
                limits=Limits(memory_mb=128, timeout_s=10, cpu_s=10),
            )  # fmt: skip

        cold, peaks = [], []
        for i in range(runs):
            outcome = executor.invoke(request(f"cold-{i}", i), _broker)
            assert outcome.status == "succeeded" and outcome.cold_start, outcome
            cold.append(outcome.duration_ms)
            peaks.append(outcome.peak_memory_mb)
            executor.reap_idle(now=time.monotonic() + 10**6)
        executor.invoke(request("warm", 0), _broker)
        warm = []
        for i in range(runs * 20):
            started = time.perf_counter()
            outcome = executor.invoke(request("warm", i), _broker)
            warm.append((time.perf_counter() - started) * 1000)
            assert outcome.status == "succeeded" and not outcome.cold_start
        executor.close()

    cold_p50 = statistics.median(cold)
    warm_p50 = statistics.median(warm)
    warm_p99 = sorted(warm)[int(len(warm) * 0.99) - 1]
    peak = statistics.median(peaks)
    rows = [
        ("floor: python -c pass", f"{bare:.1f} ms", "", ""),
        ("floor: python -I -S -c pass", f"{bare_is:.1f} ms", "", ""),
        ("cold invocation p50", f"{cold_p50:.1f} ms", f"{cold_p50 / bare:.2f}x bare", "<= 1.5x"),
        ("cold vs -I -S floor", "", f"{cold_p50 / bare_is:.2f}x", ""),
        ("warm round trip p50", f"{warm_p50:.2f} ms", f"p99 {warm_p99:.2f} ms", "<= 5 ms"),
        ("floor: bare interpreter RSS", f"{bare_rss:.1f} MB", "", ""),
        ("trivial plugin peak RSS", f"{peak:.1f} MB", f"{peak - bare_rss:+.1f} MB", "<= +10 MB"),
    ]
    print(f"{'measure':32} {'value':>12} {'ratio':>16} {'target':>10}")
    for name, value, ratio, target in rows:
        print(f"{name:32} {value:>12} {ratio:>16} {target:>10}")


if __name__ == "__main__":
    main()
