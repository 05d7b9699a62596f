"""The queue workers as Chalice Lambda functions (SQS event source mappings), registered by app.py.

Queue names depend on the stage, read from Settings when the app is loaded (``chalice package`` with
``PLUGYARD_STAGE`` set). The event source mappings need ``FunctionResponseTypes: [ReportBatchItemFailures]``
for partial batch failures; infra/README.md lists that for the packaged template.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, SQSEvent

from chalicelib.config import Settings
from chalicelib.workers.dispatcher import handle_dispatch_batch
from chalicelib.workers.invoker import handle_invoke_batch

__all__ = ["register"]


def register(app: Chalice, settings: Settings) -> None:
    """Register the dispatcher and the invoker as SQS-triggered functions."""

    @app.on_sqs_message(queue=settings.queue_name("dispatch"), batch_size=10, name="dispatcher")
    def dispatcher(event: SQSEvent) -> dict[str, Any]:
        return handle_dispatch_batch(event.to_dict(), event.context)

    @app.on_sqs_message(queue=settings.queue_name("invoke"), batch_size=5, name="invoker")
    def invoker(event: SQSEvent) -> dict[str, Any]:
        return handle_invoke_batch(event.to_dict(), event.context)
