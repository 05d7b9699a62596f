"""The queue workers as Chalice Lambda functions (SQS event source mappings), registered by app.py.

Lambda resolves a handler ``app.<name>`` by importing ``app`` and reading the attribute ``<name>``:
chalice names the handler after the function (``app.dispatcher``), so ``register`` returns the
decorated handlers and app.py binds each one to that name at module level.

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
from chalicelib.workers.deployer import handle_deploy_batch
from chalicelib.workers.dispatcher import handle_dispatch_batch
from chalicelib.workers.invoker import handle_invoke_batch

__all__ = ["deliverer", "deployer", "dispatcher", "invoker", "register"]


def dispatcher(event: SQSEvent) -> dict[str, Any]:
    """The dispatch queue's batch: one message per subscriber of each event."""
    return handle_dispatch_batch(event.to_dict(), event.context)


def invoker(event: SQSEvent) -> dict[str, Any]:
    """The invoke queue's batch: each installation's event handler, through the execution engine."""
    return handle_invoke_batch(event.to_dict(), event.context)


def deliverer(event: SQSEvent) -> dict[str, Any]:
    """The delivery queue's batch: signed webhook attempts."""
    return handle_delivery_batch(event.to_dict(), event.context)


def deployer(event: SQSEvent) -> dict[str, Any]:
    """The deploy queue's batch: one plugin version's Lambda function, role and log group."""
    return handle_deploy_batch(event.to_dict(), event.context)


def register(app: Chalice, settings: Settings) -> tuple[Any, Any, Any, Any]:
    """Register the dispatcher, the invoker, the deliverer and the deployer; app.py binds them to those names."""
    return (
        app.on_sqs_message(queue=settings.queue_name("dispatch"), batch_size=10, name="dispatcher")(dispatcher),
        # One event per batch: records run one after the other, so a batch of n needs n x the longest plugin
        # timeout; with one, the invoker's 150 s timeout always outlasts a plugin's 60 s + the client margin.
        app.on_sqs_message(queue=settings.queue_name("invoke"), batch_size=1, name="invoker")(invoker),
        # Ten records at once (deliverer.BATCH_CONCURRENCY): a batch of slow endpoints still ends well
        # inside the 20 s timeout, itself a sixth of the delivery queue's 120 s visibility timeout.
        app.on_sqs_message(queue=settings.queue_name("delivery"), batch_size=10, name="deliverer")(deliverer),
        # One version per batch: a deployment waits up to two minutes for its function to become Active.
        app.on_sqs_message(queue=settings.queue_name("deploy"), batch_size=1, name="deployer")(deployer),
    )
