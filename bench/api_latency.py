"""API latency benchmark: three routes against a floor (a bare DynamoDB GetItem on the same moto server).

    python bench/api_latency.py [--n 300] [--server waitress|chalice-local|both] [--profile] [--no-outbox]

For each server this starts `make run`'s stack on free ports (moto server, template, API, queue workers),
seeds the demo marketplace, then measures in the same run, with one keep-alive httpx client and a warm-up:

- the floor: a bare boto3 ``GetItem`` on the Plugins table of the same moto server;
- ``GET /api/plugins/list``, ``GET /api/plugins/{id}`` and ``POST /api/plugins/install``. The install is
  one client's: one workspace, one admin key, the same plugin installed, then uninstalled untimed before the
  next install, so each timed call does a whole install (transaction, grants, audit record, event).
- for context, the install into a workspace never seen before, with a key never seen before (one of each
  per call, created before timing starts): the first request of a key and the first audit record of a
  workspace in an API process each read what later requests find in memory.

Targets: p99 <= 3x the floor's p99 for list and detail, <= 5x for install. ``--server chalice-local``
serves the same app with ``chalice local --no-autoreload`` (same environment as the stack's API process)
instead of waitress over LocalGateway.
``--profile`` also runs each route in-process (``chalice.test.Client`` on the same moto server) and counts
the AWS calls per request and the time spent in them. ``--no-outbox`` starts the workers without the outbox
reader, so no event is forwarded: what the requests cost without the event work each one sets off on the
same moto server and cores (informational; the judged figures are with it). This is a report, not a test:
it always exits 0.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugin-runtime")]

import boto3  # noqa: E402
import httpx  # noqa: E402

from chalicelib.domain.permissions import Role  # noqa: E402
from chalicelib.local.seed import seed_demo  # noqa: E402
from chalicelib.local.stack import Child, LocalStack, _wait_http, free_port  # noqa: E402

DETAIL_PLUGIN = "task-summarizer"
INSTALL_BODY = {
    "plugin_id": "slack-notifier",
    "grant": ["http:fetch", "tasks:read"],
    "config": {"channel": "#bench"},
}
TARGET_RATIO = 3.0  # reads: p99 within 3× the floor's p99
INSTALL_TARGET_RATIO = 5.0  # an install is a transaction of several items, its idempotency and audit records


@dataclass
class Row:
    """One measured line of the table."""

    name: str
    samples_ms: list[float]
    errors: Counter[int] = field(default_factory=Counter)
    informational: bool = False  # shown for context, not judged against the target

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p99(self) -> float:
        return _percentile(self.samples_ms, 99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms)


def _percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: with n=300 the p99 is the 297th sample)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def _timed(fn: Callable[[], Any], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


# --- the stack, served by either server ---------------------------------------------------------------


def start_stack(server: str, *, outbox: bool = True) -> LocalStack:
    """moto + provision + API (waitress); for chalice-local the API process is then swapped."""
    # `make run`'s stack, queue workers and outbox forwarder included: what a developer's API competes with.
    stack = LocalStack(
        api_port=free_port(),
        moto_port=free_port(),
        extra_env={"POWERTOOLS_LOG_LEVEL": "WARNING"},
        live=False,
        worker_args=[] if outbox else ["--no-outbox"],
    )
    stack.start(quiet_api=True)
    if server == "chalice-local":
        api = stack.child("api")
        stack.children.remove(api)  # out of the supervisor's hands before it is stopped
        os.killpg(api.proc.pid, signal.SIGTERM)
        api.proc.wait(timeout=10)
        chalice = shutil.which("chalice", path=str(Path(sys.executable).parent)) or "chalice"
        cmd = [chalice, "local", "--no-autoreload", "--stage", stack.stage, "--port", str(stack.api_port)]
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=stack.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        stack.children.append(Child("api", cmd, True, True, proc))
        _wait_http(f"{stack.api_url}/health/ready", 60, proc)
    return stack


@dataclass
class Fixture:
    """What the measurements need, created before timing starts."""

    admin_key: str
    install_keys: list[str]  # one per install into a new workspace
    one_key: str  # the single client's: its workspace installs and uninstalls the same plugin


def prepare(stack: LocalStack, installs: int) -> Fixture:
    """Seed the demo marketplace and create one workspace + admin key per install call."""
    ops = stack.operator_services()
    seeded = seed_demo(ops.auth, stack.api_url, None)
    keys = []
    for i in range(installs):
        ws = f"bench-{i:05d}"
        ops.auth.create_workspace(ws, f"Bench workspace {i}")
        keys.append(ops.auth.issue_key(ws, Role.ADMIN, "bench", created_by="operator").key)
    ops.auth.create_workspace("bench-one", "Bench: one client")
    one = ops.auth.issue_key("bench-one", Role.ADMIN, "bench", created_by="operator").key
    return Fixture(admin_key=seeded.admin_key, install_keys=keys, one_key=one)


# --- measurements -------------------------------------------------------------------------------------


def measure_floor(stack: LocalStack, n: int, warmup: int) -> Row:
    """A bare GetItem of an existing plugin on the same moto server (keep-alive, like the API's client)."""
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = stack.outputs["PluginsTableName"]
    key = {"plugin_id": {"S": DETAIL_PLUGIN}}
    assert "Item" in ddb.get_item(TableName=table, Key=key)
    return Row("floor: boto3 GetItem (moto)", _timed(lambda: ddb.get_item(TableName=table, Key=key), n, warmup))


def measure_routes(stack: LocalStack, fx: Fixture, n: int, warmup: int) -> list[Row]:
    """The three routes over HTTP with one keep-alive client."""
    rows = []
    auth = {"Authorization": f"Bearer {fx.admin_key}"}
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        for name, path, ok in (
            ("GET /api/plugins/list", "/api/plugins/list", 200),
            ("GET /api/plugins/{id}", f"/api/plugins/{DETAIL_PLUGIN}", 200),
        ):
            row = Row(name, [])

            def get(path: str = path, ok: int = ok, row: Row = row) -> None:
                status = client.get(path, headers=auth).status_code
                if status != ok:
                    row.errors[status] += 1

            row.samples_ms = _timed(get, n, warmup)
            rows.append(row)

        rows.append(measure_one_client_installs(client, fx.one_key, n, warmup))

        keys = iter(fx.install_keys)
        row = Row("POST /api/plugins/install (new ws, key)", [], informational=True)

        def install() -> None:
            headers = {"Authorization": f"Bearer {next(keys)}"}
            status = client.post("/api/plugins/install", json=INSTALL_BODY, headers=headers).status_code
            if status != 201:
                row.errors[status] += 1

        row.samples_ms = _timed(install, n, warmup)
        rows.append(row)
    return rows


def measure_one_client_installs(client: httpx.Client, key: str, n: int, warmup: int) -> Row:
    """One client installs the plugin, then (untimed) uninstalls it, n + warmup times."""
    row = Row("POST /api/plugins/install", [])
    headers = {"Authorization": f"Bearer {key}"}
    for i in range(warmup + n):
        t0 = time.perf_counter()
        resp = client.post("/api/plugins/install", json=INSTALL_BODY, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        if resp.status_code != 201:
            row.errors[resp.status_code] += 1
            continue
        if i >= warmup:
            row.samples_ms.append(elapsed)
        gone = client.delete(f"/api/installations/{resp.json()['installation_id']}", headers=headers)
        if gone.status_code != 204:
            row.errors[gone.status_code] += 1
    return row


def measure_fresh_connection(stack: LocalStack, fx: Fixture, n: int) -> Row:
    """The detail route with a new TCP connection per request (shows what keep-alive costs chalice local)."""
    auth = {"Authorization": f"Bearer {fx.admin_key}"}
    url = f"{stack.api_url}/api/plugins/{DETAIL_PLUGIN}"
    # One client (building an httpx client per request would measure its TLS setup instead), no pooling.
    with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        samples = _timed(lambda: client.get(url, headers={**auth, "Connection": "close"}), n, 5)
    return Row("GET /api/plugins/{id} (new conn)", samples, informational=True)


# --- profile: AWS calls per request, in-process --------------------------------------------------------


def profile_routes(stack: LocalStack, fx: Fixture, n: int) -> None:
    """Run each route in-process against the same moto server; count AWS calls and time them."""
    import botocore.client
    from chalice.test import Client

    os.environ.update(stack.env())
    from chalicelib.container import reset_services

    reset_services()
    from app import app

    calls: list[tuple[str, float]] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(self, operation, params)
        finally:
            calls.append((f"{self.meta.service_model.service_name}.{operation}", (time.perf_counter() - t0) * 1000))

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    print("\nProfile (in-process, chalice.test.Client on the same moto server; mean per request):")
    print(f"{'route':28} {'total ms':>9} {'in AWS ms':>10} {'other ms':>9} {'calls':>6}  AWS calls per request")
    admin = {"Authorization": f"Bearer {fx.admin_key}", "Content-Type": "application/json"}
    import json

    with Client(app) as client:
        # Workspaces for in-process installs: the HTTP run used the fixture's keys already.
        ops = stack.operator_services()
        keys = []
        for i in range(n + 5 + min(n, 30)):
            ws = f"prof-{i:05d}"
            ops.auth.create_workspace(ws, "profile")
            keys.append(ops.auth.issue_key(ws, Role.ADMIN, "profile", created_by="operator").key)
        key_iter = iter(keys)
        routes: list[tuple[str, Callable[[], Any]]] = [
            ("GET /api/plugins/list", lambda: client.http.get("/api/plugins/list", headers=admin)),
            ("GET /api/plugins/{id}", lambda: client.http.get(f"/api/plugins/{DETAIL_PLUGIN}", headers=admin)),
            (
                "POST /api/plugins/install",
                lambda: client.http.post(
                    "/api/plugins/install",
                    headers={"Authorization": f"Bearer {next(key_iter)}", "Content-Type": "application/json"},
                    body=json.dumps(INSTALL_BODY),
                ),
            ),
        ]
        hot: dict[str, str] = {}
        for name, fn in routes:
            for _ in range(5):
                fn()
            calls.clear()
            t0 = time.perf_counter()
            for _ in range(n):
                resp = fn()
                assert resp.status_code in (200, 201), resp.body
            total = (time.perf_counter() - t0) * 1000 / n
            in_aws = sum(ms for _, ms in calls) / n
            by_op = Counter(op for op, _ in calls)
            op_ms: dict[str, float] = {}
            for op, ms in calls:
                op_ms[op] = op_ms.get(op, 0.0) + ms
            per_req = ", ".join(f"{op} x{c / n:g} ({op_ms[op] / c:.1f} ms)" for op, c in by_op.most_common())
            print(f"{name:28} {total:9.2f} {in_aws:10.2f} {total - in_aws:9.2f} {len(calls) / n:6.1f}  {per_req}")
            # A separate, shorter pass under cProfile (its overhead would distort the timings above).
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(min(n, 30)):
                fn()
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(r"chalicelib", 12)
            hot[name] = out.getvalue()
    botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
    for name, text in hot.items():
        lines = [ln for ln in text.splitlines() if "chalicelib" in ln][:12]
        print(f"\n  cProfile, {name} (cumulative s over {min(n, 30)} calls, chalicelib frames):")
        for ln in lines:  # ncalls tottime percall cumtime percall where
            print("   ", ln.strip())


# --- report -------------------------------------------------------------------------------------------


def print_table(server: str, floor: Row, rows: list[Row], n: int) -> None:
    print(f"\nServer: {server}  (n={n} per route after warm-up; keep-alive client; floor measured in this run)")
    print(f"{'name':40} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'p99/floor':>10} {'target':>7} {'':>5}")
    print(f"{floor.name:40} {len(floor.samples_ms):5d} {floor.p50:8.2f} {floor.p99:8.2f} {floor.mean:8.2f}")
    for r in rows:
        ratio = r.p99 / floor.p99
        target = INSTALL_TARGET_RATIO if "install" in r.name else TARGET_RATIO
        verdict = "PASS" if ratio <= target else "MISS"
        if r.informational:
            verdict = "info"
        errors = f"  errors: {dict(r.errors)}" if r.errors else ""
        print(
            f"{r.name:40} {len(r.samples_ms):5d} {r.p50:8.2f} {r.p99:8.2f} {r.mean:8.2f} {ratio:9.1f}x "
            f"{f'<= {target:.0f}x':>7} {verdict:>5}{errors}"
        )


def run(server: str, n: int, warmup: int, profile: bool, outbox: bool = True) -> None:
    t0 = time.monotonic()
    stack = start_stack(server, outbox=outbox)
    try:
        fx = prepare(stack, n + warmup)
        print(f"\n[{server}] stack up and seeded in {time.monotonic() - t0:.1f} s", flush=True)
        floor = measure_floor(stack, n, warmup)
        rows = measure_routes(stack, fx, n, warmup)
        rows.append(measure_fresh_connection(stack, fx, min(n, 100)))
        print_table(server, floor, rows, n)
        if profile:
            profile_routes(stack, fx, min(n, 100))
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="timed requests per route (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per route first (default 30)")
    parser.add_argument("--server", choices=["waitress", "chalice-local", "both"], default="both")
    parser.add_argument("--profile", action="store_true", help="also count AWS calls per request, in-process")
    parser.add_argument(
        "--no-outbox",
        action="store_true",
        help="no outbox reader: events are not forwarded (what the requests cost without the event work they set off)",
    )
    args = parser.parse_args()
    servers = ["waitress", "chalice-local"] if args.server == "both" else [args.server]
    for i, server in enumerate(servers):
        run(server, args.n, args.warmup, args.profile and i == 0, outbox=not args.no_outbox)
    sys.exit(0)


if __name__ == "__main__":
    main()
