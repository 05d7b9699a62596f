"""The queue workers as Lambda functions of the Chalice app: registered, partial failures, metrics flushed."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from chalicelib.adapters.metrics import InMemoryMetrics
from chalicelib.container import reset_services

from .conftest import World


class CountingMetrics(InMemoryMetrics):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def test_workers_are_registered_and_report_poison_records(world: World) -> None:
    from app import app

    assert {"dispatcher", "invoker", "deliverer"} <= set(app.handler_map)
    metrics = CountingMetrics()
    world.adapters.metrics = metrics
    reset_services(world.services)
    try:
        with Client(app) as client:
            # the deliverer leaves a poison record to the queue's redrive; the dispatcher dead-letters it itself
            for name, queue, failed in (
                ("deliverer", "plugyard-dev-delivery", 1),
                ("dispatcher", "plugyard-dev-dispatch", 0),
            ):
                event: Any = client.events.generate_sqs_event(message_bodies=["not json"], queue_name=queue)
                response = client.lambda_.invoke(name, event)
                assert len(response.payload["batchItemFailures"]) == failed, name
    finally:
        reset_services(None)
    assert metrics.flushes == 2  # once per batch, by the app's middleware
