"""The queue workers as Lambda functions of the Chalice app: registered, poison dead-lettered, metrics flushed."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from chalicelib.adapters.memory import InMemoryWorkQueues
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
            # each worker dead-letters a poison record itself, with the reason, instead of retrying it
            for name, queue in (("deliverer", "plugyard-dev-delivery"), ("dispatcher", "plugyard-dev-dispatch")):
                event: Any = client.events.generate_sqs_event(message_bodies=["not json"], queue_name=queue)
                response = client.lambda_.invoke(name, event)
                assert response.payload["batchItemFailures"] == [], name
    finally:
        reset_services(None)
    assert metrics.flushes == 2  # once per batch, by the app's middleware
    assert isinstance(world.adapters.queues, InMemoryWorkQueues)
    dead = world.adapters.queues.dead
    assert [(d["body"], d["code"]) for d in dead["delivery"] + dead["dispatch"]] == [
        ("not json", "malformed-message")
    ] * 2
