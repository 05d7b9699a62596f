"""The invoker: invoke queue → the installation's event handler, through the execution engine.

Called by Lambda's SQS event source mapping on AWS (registered in app.py) and by the local worker
runner (chalicelib/local/workers.py), which long-polls the same queue on moto.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from chalicelib.domain.messages import InvokeMessage, PoisonMessageError
from chalicelib.telemetry import correlation
from chalicelib.workers.batch import run_batch

__all__ = ["handle_invoke_batch", "parse_invoke_body"]

logger = Logger(service="plugyard", child=True)


def parse_invoke_body(body: str) -> InvokeMessage:
    """The invoke message in a record body; PoisonMessageError when it is not one."""
    try:
        return InvokeMessage.model_validate_json(body)
    except ValidationError as exc:
        raise PoisonMessageError(f"not an invoke message: {exc.error_count()} validation errors") from exc


def handle_invoke_batch(event: Mapping[str, Any], context: Any = None, services: Any = None) -> dict[str, Any]:
    """Lambda handler of the invoke queue (partial batch failures)."""
    from chalicelib.container import services as current

    svc = services or current()

    def handle(record: SQSRecord) -> None:
        message = parse_invoke_body(record.body)
        with correlation(
            event_id=message.event.id, installation_id=message.installation_id, workspace_id=message.workspace_id
        ):
            outcome = svc.dispatch.invoke(message)
            logger.debug("invoked", extra={"outcome": outcome})

    return run_batch(event, context, purpose="invoke", handle=handle, queues=svc.adapters.queues)
