"""Event → subscriber latency over the local pipeline (moto EventBridge → SQS → dispatcher → invoke queue).

Measures, for N events published through ``POST /api/events``, the time until the dispatcher's message for
the subscribed installation is on the invoke queue — read by this script from a queue of its own that
stands in for the invoker (the real workers are not started, so nothing else consumes). The floor, measured
in the same run, is one bare ``SendMessage`` → ``ReceiveMessage`` round trip on moto.

    .venv/bin/python bench/events.py [N]          # targets: p50 ≤ 50 ms, p99 ≤ 250 ms
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from typing import Any

import boto3
import httpx

from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack, free_port
from chalicelib.workers.dispatcher import handle_dispatch_batch


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    stack = LocalStack(api_port=free_port(), moto_port=free_port(), workers=False)
    stack.start(quiet_api=True)
    try:
        run(stack, n)
    finally:
        stack.stop()


def run(stack: LocalStack, n: int) -> None:
    import os

    for k, v in stack.env().items():
        os.environ.setdefault(k, v)
    from chalicelib.container import services
    from chalicelib.local.workers import QueuePoller

    svc = services()
    sqs = boto3.client(
        "sqs", endpoint_url=stack.moto_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    ws = f"ws-bench-{int(time.time())}"
    svc.auth.create_workspace(ws, ws)
    key = svc.auth.issue_key(ws, Role.ADMIN, "bench", created_by="bench").key
    svc.adapters.subscriptions.add(ws, ["workspace.bench"], "installation#bench")

    # The real dispatcher handler, polled exactly as `make run` polls it.
    stop = threading.Event()
    dispatch_url = sqs.get_queue_url(QueueName="plugyard-dev-dispatch")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dispatch_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    poller = QueuePoller(sqs, dispatch_url, arn, lambda e, c: handle_dispatch_batch(e, c, svc), stop)
    threading.Thread(target=poller.run, daemon=True).start()
    invoke_url = sqs.get_queue_url(QueueName="plugyard-dev-invoke")["QueueUrl"]

    api = httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"})
    latencies: list[float] = []
    publish: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = api.post("/api/events", json={"type": "workspace.bench", "data": {}})
        publish.append((time.perf_counter() - t0) * 1000)
        event_id = resp.json()["id"]
        while True:
            out = sqs.receive_message(QueueUrl=invoke_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            msgs = out.get("Messages", [])
            for m in msgs:
                sqs.delete_message(QueueUrl=invoke_url, ReceiptHandle=m["ReceiptHandle"])
            if any(json.loads(m["Body"])["event"]["id"] == event_id for m in msgs):
                break
        latencies.append((time.perf_counter() - t0) * 1000)
    stop.set()

    floor: list[float] = []
    probe = sqs.create_queue(QueueName="plugyard-bench-floor")["QueueUrl"]
    for _ in range(50):
        t0 = time.perf_counter()
        sqs.send_message(QueueUrl=probe, MessageBody="x")
        m = sqs.receive_message(QueueUrl=probe, WaitTimeSeconds=1)["Messages"][0]
        floor.append((time.perf_counter() - t0) * 1000)
        sqs.delete_message(QueueUrl=probe, ReceiptHandle=m["ReceiptHandle"])

    after = [t - p for t, p in zip(latencies, publish, strict=True)]
    rows: list[tuple[str, Any, Any, Any]] = [
        ("measure", "p50 ms", "p99 ms", "max ms"),
        ("event → invoke queue", f"{pct(latencies, 50):.1f}", f"{pct(latencies, 99):.1f}", f"{max(latencies):.1f}"),
        ("  of which POST /api/events", f"{pct(publish, 50):.1f}", f"{pct(publish, 99):.1f}", f"{max(publish):.1f}"),
        ("  of which bus → invoke queue", *(f"{pct(after, q):.1f}" for q in (50, 99)), f"{max(after):.1f}"),
        ("floor: SQS send → receive", f"{pct(floor, 50):.1f}", f"{pct(floor, 99):.1f}", f"{max(floor):.1f}"),
    ]
    for r in rows:
        print(f"{r[0]:<28}{r[1]:>10}{r[2]:>10}{r[3]:>10}")
    ratio = statistics.median(latencies) / statistics.median(floor)
    print(f"\n{n} events; p50 is {ratio:.1f}× the floor; targets p50 ≤ 50 ms, p99 ≤ 250 ms:", end=" ")
    print("met" if pct(latencies, 50) <= 50 and pct(latencies, 99) <= 250 else "NOT met")


if __name__ == "__main__":
    main()
