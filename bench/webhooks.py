"""Webhook delivery benchmark: signed deliveries per second beside raw httpx POSTs to the same receiver.

    python bench/webhooks.py [--n 3000] [--threads 8] [--scheme v1|v1a]

Both loops run in this process, in the same run, against one loopback receiver (chalicelib.local.receiver),
with the same number of threads. "signed" is the deliverer's whole path per message — read the endpoint,
create the Delivery, decrypt-or-cache the key, sign (Standard Webhooks), resolve + SSRF-check + pin the
address, POST with httpx, record the attempt — on in-memory repositories, so it measures the deliverer's
own cost rather than the database's. "raw" is a bare ``httpx.Client.post`` of the same body.
Targets: signed >= 500/s and >= 0.5x raw.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugin-runtime")]

import httpx  # noqa: E402

from chalicelib.adapters.webhook_http import HttpxWebhookSender  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.container import build_services, in_memory_adapters  # noqa: E402
from chalicelib.domain.deliveries import DeliveryJob  # noqa: E402
from chalicelib.domain.models import EventEnvelope, RegisterWebhookRequest  # noqa: E402
from chalicelib.domain.permissions import Role  # noqa: E402
from chalicelib.local.receiver import Answer, Receiver  # noqa: E402

TARGET_PER_S = 500.0
TARGET_RATIO = 0.5


def _run(n: int, threads: int, one: Callable[[int], None]) -> tuple[float, list[float]]:
    """Run ``one(i)`` for i in range(n) over ``threads`` threads; (seconds, per-call latencies in ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        mine: list[float] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            t0 = time.perf_counter()
            one(i)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - started, latencies


def main() -> None:
    """Measure both loops and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--scheme", choices=["v1", "v1a"], default="v1")
    parser.add_argument("--log", action="store_true", help="keep the per-attempt INFO log lines (to stderr)")
    args = parser.parse_args()
    if not args.log:
        logging.getLogger("plugyard").setLevel(logging.WARNING)

    with Receiver(default=Answer(204)) as receiver:
        url = receiver.url + "/bench"
        adapters = in_memory_adapters()
        sender = HttpxWebhookSender(allow_private=True)
        adapters.webhook_sender = sender
        services = build_services(Settings(webhooks_allow_private=True), adapters)
        services.auth.create_workspace("ws-bench", "bench")
        key = services.auth.issue_key("ws-bench", Role.ADMIN, "bench", created_by="bench").key
        caller = services.auth.authenticate(f"Bearer {key}")
        hook = services.webhooks.register(
            caller,
            RegisterWebhookRequest.model_validate(
                {"url": url, "event_types": ["task.completed"], "signature_scheme": args.scheme}
            ),
        )
        jobs = [
            DeliveryJob(
                workspace_id="ws-bench",
                webhook_id=hook.webhook_id,
                event=EventEnvelope(
                    id=adapters.ids.new_id(),
                    source="plugyard.host",
                    type="task.completed",
                    workspace_id="ws-bench",
                    time=datetime.now(UTC),
                    data={"task_id": f"t{i}", "title": "Quarterly report", "status": "completed"},
                ),
            )
            for i in range(args.n)
        ]
        body = jobs[0].event.model_dump_json().encode() if jobs[0].event else b"{}"
        raw_client = httpx.Client(timeout=15, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))

        def raw(i: int) -> None:
            raw_client.post(url, content=body, headers={"Content-Type": "application/json"}).raise_for_status()

        def signed(i: int) -> None:
            services.deliveries.handle(jobs[i])

        # Warm both paths (connections, caches) before timing.
        _run(min(200, args.n), args.threads, raw)
        warm = [
            DeliveryJob(
                workspace_id="ws-bench", webhook_id=hook.webhook_id, event=j.event.model_copy(update={"id": f"w{k}"})
            )
            for k, j in enumerate(jobs[:200])
            if j.event
        ]
        _run(len(warm), args.threads, lambda i: services.deliveries.handle(warm[i]))
        before = len(receiver.received)

        results = []
        for name, fn in (("raw httpx POST", raw), (f"signed delivery ({args.scheme})", signed)):
            seconds, lat = _run(args.n, args.threads, fn)
            lat.sort()
            results.append((name, args.n / seconds, statistics.median(lat), lat[int(len(lat) * 0.99) - 1]))
        delivered = sum(
            1
            for j in jobs
            if j.event and (d := adapters.deliveries.get(hook.webhook_id, j.event.id)) and d.status == "delivered"
        )
        raw_client.close()
        sender.close()
        received = len(receiver.received) - before

    raw_rate = results[0][1]
    print(f"\nWebhook delivery: {args.n} messages, {args.threads} threads, loopback receiver\n")
    print(f"{'mode':<24} {'per second':>11} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}")
    for name, rate, p50, p99 in results:
        print(f"{name:<24} {rate:>11.0f} {p50:>8.2f} {p99:>8.2f} {rate / raw_rate:>6.2f}x")
    signed_rate = results[1][1]
    ok = signed_rate >= TARGET_PER_S and signed_rate / raw_rate >= TARGET_RATIO and delivered == args.n
    print(
        f"\ndelivered {delivered}/{args.n} (receiver got {received} requests in the timed runs); "
        f"targets: >= {TARGET_PER_S:.0f}/s and >= {TARGET_RATIO}x raw -> {'PASS' if ok else 'FAIL'}"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
