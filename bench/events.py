"""Change → signed webhook delivery latency over `make run`'s whole pipeline.

For N installs (one client, one at a time, each in a workspace of its own that registered a webhook for
``plugin.installed`` on a local receiver), the time from the install request until the receiver holds the
signed ``plugin.installed`` delivery, verified with the ``standardwebhooks`` library as a receiver would:

    API (install + outbox record, one transaction) → outbox stream → forwarder → EventBridge → dispatch queue
    → dispatcher → delivery queue → deliverer → signed POST

The stack is `make run`'s (``LocalStack`` with its queue workers and the outbox stream reader); setup is not
timed. Floors measured in the same run on the same moto server: a bare ``GetItem``, and one SQS
``SendMessage`` → ``ReceiveMessage`` round trip (each hop of the pipeline costs at least that).

    .venv/bin/python bench/events.py [--n 100]      # target: p50 ≤ 100 ms from the change
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugin-runtime")]

import boto3  # noqa: E402
import httpx  # noqa: E402
from standardwebhooks.webhooks import Webhook as StandardWebhook  # noqa: E402

from chalicelib.domain.permissions import Role  # noqa: E402
from chalicelib.local.receiver import Receiver  # noqa: E402
from chalicelib.local.seed import seed_demo  # noqa: E402
from chalicelib.local.stack import LocalStack, free_port  # noqa: E402

INSTALL = {"plugin_id": "slack-notifier", "grant": ["http:fetch", "tasks:read"], "config": {"channel": "#bench"}}
TARGET_P50_MS = 100.0


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    stack = LocalStack(
        api_port=free_port(), moto_port=free_port(), live=False, extra_env={"PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true"}
    )
    stack.log = lambda line: print(line, file=sys.stderr)
    try:
        stack.start(quiet_api=True)
        with Receiver() as receiver:
            run(stack, receiver, args.n)
    finally:
        stack.stop()


def run(stack: LocalStack, receiver: Receiver, n: int) -> None:
    ops = stack.operator_services()
    seed_demo(ops.auth, stack.api_url, None)
    kw: dict[str, Any] = {
        "endpoint_url": stack.moto_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sqs, ddb = boto3.client("sqs", **kw), boto3.client("dynamodb", **kw)
    print(f"preparing {n} workspaces with a webhook each…", file=sys.stderr)

    def tenant(i: int) -> tuple[str, str, StandardWebhook]:
        ws = f"bench-ev-{i}"
        ops.auth.create_workspace(ws, ws)
        key = ops.auth.issue_key(ws, Role.ADMIN, "bench", created_by="operator").key
        path = f"/{ws}"
        resp = httpx.post(
            f"{stack.api_url}/api/webhooks/register",
            json={"url": receiver.plan(path), "event_types": ["plugin.installed"]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        resp.raise_for_status()
        return key, path, StandardWebhook(resp.json()["secret"])

    # Set-up, not timed: eight at a time.
    with ThreadPoolExecutor(max_workers=8) as pool:
        tenants = list(pool.map(tenant, range(n)))
    time.sleep(1)  # let the webhook registrations' own events drain before timing

    from_request: list[float] = []
    from_response: list[float] = []
    from_change: list[float] = []
    api_ms: list[float] = []
    missing = 0
    with httpx.Client(base_url=stack.api_url, timeout=30) as api:
        for key, path, verifier in tenants:
            t0 = time.monotonic()
            resp = api.post("/api/plugins/install", json=INSTALL, headers={"Authorization": f"Bearer {key}"})
            t1 = time.monotonic()
            resp.raise_for_status()
            deadline = t1 + 10
            while not receiver.requests_to(path) and time.monotonic() < deadline:
                time.sleep(0.001)
            got = receiver.requests_to(path)
            if not got:
                missing += 1
                continue
            event = verifier.verify(got[0].body, got[0].headers)
            assert (
                event["type"] == "plugin.installed"
                and event["data"]["installation_id"] == resp.json()["installation_id"]
            )
            at = got[0].at
            # The event's time is stamped when the change is made, just before its transaction commits.
            received_wall = time.time() - (time.monotonic() - at)
            changed = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
            from_change.append((received_wall - changed) * 1000)
            from_request.append((at - t0) * 1000)
            from_response.append((at - t1) * 1000)
            api_ms.append((t1 - t0) * 1000)

    floor_get: list[float] = []
    table = f"plugyard-{stack.stage}-plugins"
    for _ in range(100):
        t0 = time.perf_counter()
        ddb.get_item(TableName=table, Key={"plugin_id": {"S": "slack-notifier"}})
        floor_get.append((time.perf_counter() - t0) * 1000)
    floor_sqs: list[float] = []
    probe = sqs.create_queue(QueueName="plugyard-bench-floor")["QueueUrl"]
    for _ in range(50):
        t0 = time.perf_counter()
        sqs.send_message(QueueUrl=probe, MessageBody="x")
        m = sqs.receive_message(QueueUrl=probe, WaitTimeSeconds=1)["Messages"][0]
        floor_sqs.append((time.perf_counter() - t0) * 1000)
        sqs.delete_message(QueueUrl=probe, ReceiptHandle=m["ReceiptHandle"])

    rows = [
        ("install → signed delivery (from request)", from_request),
        ("  from the change (the event's own time)", from_change),
        ("  from the install's response", from_response),
        ("  the install request itself", api_ms),
        ("floor: GetItem", floor_get),
        ("floor: SQS send → receive", floor_sqs),
    ]
    print(f"\n{'measure':<44}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, xs in rows:
        print(f"{name:<44}{statistics.median(xs):>10.1f}{pct(xs, 99):>10.1f}{max(xs):>10.1f}")
    p50, change_p50 = statistics.median(from_request), statistics.median(from_change)
    print(
        f"\n{len(from_request)} deliveries ({missing} not within 10 s); from the request p50 {p50:.1f} ms = "
        f"{p50 / statistics.median(floor_get):.1f}× GetItem p50, {p50 / statistics.median(floor_sqs):.1f}× SQS p50; "
        f"from the change p50 {change_p50:.1f} ms; target p50 ≤ {TARGET_P50_MS:.0f} ms from the change: "
        f"{'PASS' if change_p50 <= TARGET_P50_MS and not missing else 'MISS'}"
    )
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
