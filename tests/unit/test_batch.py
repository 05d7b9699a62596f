"""The one batch strategy of the worker queues (chalicelib/workers/batch.py): how records of a batch are run."""

from __future__ import annotations

import threading

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.workers.batch import run_batch
from unit.conftest import World
from unit.sqs_events import sqs_batch


def test_one_at_a_time_records_run_in_order_on_the_callers_thread(world: World) -> None:
    seen: list[tuple[str, int]] = []

    def handle(_services: object, record: SQSRecord) -> None:
        seen.append((record.body, threading.get_ident()))

    event = sqs_batch(["a", "b", "c"], queue="plugyard-dev-invoke")
    assert run_batch(event, None, world.services, purpose="invoke", handle=handle) == {"batchItemFailures": []}
    assert seen == [(body, threading.get_ident()) for body in ("a", "b", "c")]


def test_records_in_flight_never_exceed_the_concurrency(world: World) -> None:
    lock, running, peak = threading.Lock(), [0], [0]
    gate = threading.Barrier(3, timeout=5)  # three at once must happen, or the batch fails

    def handle(_services: object, record: SQSRecord) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait()
        with lock:
            running[0] -= 1

    event = sqs_batch([str(n) for n in range(9)], queue="plugyard-dev-delivery")
    out = run_batch(event, None, world.services, purpose="delivery", handle=handle, concurrency=3)
    assert out == {"batchItemFailures": []} and peak[0] == 3
