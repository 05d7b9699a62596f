"""Sustained installs per second through the API, and cached vs uncached marketplace listing latency.

    python bench/installs.py [--seconds 10] [--threads 8] [--n 200]

Starts `make run`'s stack (moto server, template, API under waitress, queue workers) on free ports and seeds
the demo marketplace. Installs: every install goes to its own workspace (created, with its admin key, before
timing starts), from ``--threads`` keep-alive clients for ``--seconds``. Listing: ``GET /api/plugins/list``
with the metadata cache warm, then with the cache generation bumped before every request (outside the timed
part), so each request reloads the catalog from DynamoDB — the uncached path every process takes after a
publish. Targets: >= 50 installs/s with p99 <= 200 ms from 8 clients (the seed asks for 100 per hour). A
report: exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugin-runtime")]

import httpx  # noqa: E402

from chalicelib.domain.permissions import Role  # noqa: E402
from chalicelib.local.seed import seed_demo  # noqa: E402
from chalicelib.local.stack import LocalStack, free_port  # noqa: E402
from chalicelib.services.catalog_cache import GENERATION  # noqa: E402

INSTALL = {"plugin_id": "slack-notifier", "grant": ["http:fetch", "tasks:read"], "config": {"channel": "#bench"}}
TARGET_PER_S = 50.0
TARGET_P99_MS = 200.0


def _pct(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))]


def _cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in a process group (a stack child and its children)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, …, utime (11), stime (12)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--n", type=int, default=200, help="listing requests per variant")
    args = parser.parse_args()

    # `make run`'s stack: the queue workers and the outbox forwarder run (and compete for the cores) too.
    stack = LocalStack(api_port=free_port(), moto_port=free_port(), live=False)
    try:
        stack.start(quiet_api=True)
        ops = stack.operator_services()
        seed = seed_demo(ops.auth, stack.api_url, None)
        # Enough workspaces for the whole run: one install each.
        budget = int(args.seconds * 100) + 100
        print(f"preparing {budget} workspaces…", file=sys.stderr)

        def tenant(i: int) -> str:
            ws = f"bench-{i}"
            ops.auth.create_workspace(ws, ws)
            return ops.auth.issue_key(ws, Role.ADMIN, "bench", created_by="operator").key

        # Set-up, not timed: eight at a time (each is a few sequential writes).
        with ThreadPoolExecutor(max_workers=8) as pool:
            keys: list[str] = list(pool.map(tenant, range(budget)))

        lock = threading.Lock()
        latencies: list[float] = []
        errors: dict[int, int] = {}
        # Untimed warm-up: one install per client, so the API process's lazy set-up is not timed.
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            for _ in range(args.threads):
                key = keys.pop()
                client.post("/api/plugins/install", json=INSTALL, headers={"Authorization": f"Bearer {key}"})
        stop_at = time.perf_counter() + args.seconds

        def worker() -> None:
            with httpx.Client(base_url=stack.api_url, timeout=30) as client:
                while time.perf_counter() < stop_at:
                    with lock:
                        if not keys:
                            return
                        key = keys.pop()
                    t0 = time.perf_counter()
                    r = client.post("/api/plugins/install", json=INSTALL, headers={"Authorization": f"Bearer {key}"})
                    dt = (time.perf_counter() - t0) * 1000
                    with lock:
                        if r.status_code == 201:
                            latencies.append(dt)
                        else:
                            errors[r.status_code] = errors.get(r.status_code, 0) + 1

        # Each stack process starts its own session, so its group id is its pid.
        groups = {c.name: c.proc.pid for c in stack.children}
        cpu_before = {name: _cpu_s(pid) for name, pid in groups.items()}
        t_start = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
        rate = len(latencies) / elapsed
        load = os.getloadavg()
        time.sleep(2)  # the events the installs caused drain through the workers; their CPU counts too
        cpu_per_install = {
            name: (_cpu_s(pid) - cpu_before[name]) * 1000 / max(1, len(latencies)) for name, pid in groups.items()
        }

        headers = {"Authorization": f"Bearer {seed.admin_key}"}
        with httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as client:
            for _ in range(20):
                client.get("/api/plugins/list")
            cached = []
            for _ in range(args.n):
                t0 = time.perf_counter()
                client.get("/api/plugins/list").raise_for_status()
                cached.append((time.perf_counter() - t0) * 1000)
            uncached = []
            for _ in range(args.n):
                ops.adapters.generations.bump(GENERATION)
                t0 = time.perf_counter()
                client.get("/api/plugins/list").raise_for_status()
                uncached.append((time.perf_counter() - t0) * 1000)
            stats = client.get("/api/marketplace/cache").json()
            plugins = len(client.get("/api/plugins/list", params={"limit": 100}).json()["items"])
    finally:
        stack.stop()

    print(f"\nInstalls through the API: {args.threads} clients for {elapsed:.1f} s")
    print(f"{'installs':>10} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'target':>18} {'':>5}  errors")
    p99 = _pct(latencies, 99)
    verdict = "PASS" if rate >= TARGET_PER_S and p99 <= TARGET_P99_MS else "MISS"
    print(
        f"{len(latencies):>10} {rate:>8.1f} {statistics.median(latencies):>8.2f} {p99:>8.2f} "
        f"{f'>={TARGET_PER_S:.0f}/s p99<={TARGET_P99_MS:.0f}':>18} {verdict:>5}  {errors or 'none'}"
    )
    print(f"  = {rate * 3600:,.0f} per hour, {rate * 3600 / 100:,.0f}× the seed's 100 per hour")
    print("  load average during the run (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*load))
    total_cpu = sum(cpu_per_install.values())
    print(
        "  CPU ms per install (incl. its events through the workers): "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in cpu_per_install.items())
        + f"; total {total_cpu:.1f} → at most {os.cpu_count() or 1} cores / total = "
        f"{(os.cpu_count() or 1) * 1000 / max(total_cpu, 0.001):.0f} installs/s on this machine if nothing else ran"
    )
    print(f"\nListing ({plugins} plugins listed), {args.n} requests each")
    print(f"{'variant':>10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, xs in (("cached", cached), ("uncached", uncached)):
        print(f"{name:>10} {statistics.median(xs):>8.2f} {_pct(xs, 99):>8.2f} {statistics.fmean(xs):>8.2f}")
    ratio = statistics.median(uncached) / statistics.median(cached)
    print(f"  uncached / cached p50 = {ratio:.2f}×; cache hit ratio in the API process: {stats['hit_ratio']:.2%}")


if __name__ == "__main__":
    main()
