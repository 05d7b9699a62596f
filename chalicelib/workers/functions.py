"""The queue workers as Chalice Lambda functions (SQS event source mappings), registered by app.py.

Queue names depend on the stage, read from Settings when the app is loaded (``chalice package`` with
``PLUGYARD_STAGE`` set); infra/app.yaml replaces them with the stack's queue ARNs and sets
``FunctionResponseTypes: [ReportBatchItemFailures]`` (partial batch failures), names, roles and timeouts.
Metrics are flushed after each batch by the app's middleware (chalicelib/telemetry.py).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, SQSEvent

from chalicelib.config import Settings
from chalicelib.workers.deliverer import handle_delivery_batch
from chalicelib.workers.dispatcher import handle_dispatch_batch
from chalicelib.workers.invoker import handle_invoke_batch

__all__ = ["register"]


def register(app: Chalice, settings: Settings) -> None:
    """Register the dispatcher, the invoker and the deliverer as SQS-triggered functions."""

    @app.on_sqs_message(queue=settings.queue_name("dispatch"), batch_size=10, name="dispatcher")
    def dispatcher(event: SQSEvent) -> dict[str, Any]:
        return handle_dispatch_batch(event.to_dict(), event.context)

    @app.on_sqs_message(queue=settings.queue_name("invoke"), batch_size=5, name="invoker")
    def invoker(event: SQSEvent) -> dict[str, Any]:
        return handle_invoke_batch(event.to_dict(), event.context)

    # Ten records at once (deliverer.BATCH_CONCURRENCY): a batch of slow endpoints still ends well
    # inside the 20 s timeout, itself a sixth of the delivery queue's 120 s visibility timeout.
    @app.on_sqs_message(queue=settings.queue_name("delivery"), batch_size=10, name="deliverer")
    def deliverer(event: SQSEvent) -> dict[str, Any]:
        return handle_delivery_batch(event.to_dict())
