"""The deliverer's Lambda handler (which make run's workers call too) on a batch: concurrency and dead letters."""

from __future__ import annotations

import json
import threading

from chalicelib.domain.deliveries import DeliveryJob
from chalicelib.workers.deliverer import BATCH_CONCURRENCY, handle_delivery_batch
from unit.delivery_harness import Harness, h
from unit.sqs_events import sqs_batch

__all__ = ["h"]  # the fixture, imported for pytest

QUEUE = "plugyard-dev-delivery"


def test_a_delivery_batch_sends_its_records_concurrently(h: Harness) -> None:
    hook = h.register()
    jobs = [
        DeliveryJob(workspace_id=h.caller.workspace_id, webhook_id=hook.webhook_id, event=h.event(n=n))
        for n in range(10)
    ]
    # Each request waits until all ten are in flight: only a batch that sends them side by side gets through.
    everyone = threading.Barrier(BATCH_CONCURRENCY, timeout=5)
    h.sender.before_send = everyone.wait
    out = handle_delivery_batch(sqs_batch([j.body() for j in jobs], queue=QUEUE), None, h.services)
    assert out == {"batchItemFailures": []}
    assert sorted(json.loads(s.body)["data"]["n"] for s in h.sender.sent) == list(range(10))
    for job in jobs:
        assert job.event is not None
        assert h.services.adapters.deliveries.get(hook.webhook_id, job.event.id).status == "delivered"


def test_a_delivery_record_failing_on_its_last_receive_goes_to_the_dlq_with_the_reason(h: Harness) -> None:
    hook = h.register()
    job = DeliveryJob(workspace_id=h.caller.workspace_id, webhook_id=hook.webhook_id, event=h.event())

    def storage_down() -> None:
        raise ConnectionError("deliveries table unreachable")

    h.sender.before_send = storage_down
    assert handle_delivery_batch(sqs_batch([job.body()], queue=QUEUE, receives=1), None, h.services) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }  # retried by SQS while receives remain …
    assert handle_delivery_batch(sqs_batch([job.body()], queue=QUEUE, receives=5), None, h.services) == {
        "batchItemFailures": []
    }
    [dead] = h.queues.dead["delivery"]  # … and dead-lettered with why on the last one
    assert dead["code"] == "retries-exhausted" and "deliveries table unreachable" in dead["reason"]
    assert dead["body"] == job.body()
