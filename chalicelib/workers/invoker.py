"""The invoker: invoke queue → the installation's event handler, through the execution engine.

Called by Lambda's SQS event source mapping on AWS (registered in app.py) and by the local worker
runner (chalicelib/local/workers.py), which long-polls the same queue on moto.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.domain.messages import InvokeMessage
from chalicelib.telemetry import correlation
from chalicelib.workers.batch import run_batch

if TYPE_CHECKING:
    from chalicelib.container import Services

__all__ = ["handle_invoke_batch"]

logger = Logger(service="plugyard", child=True)


def handle_invoke_batch(
    event: Mapping[str, Any], context: Any = None, services: Services | None = None
) -> dict[str, Any]:
    """Lambda handler of the invoke queue (partial batch failures)."""
    return run_batch(event, context, services, purpose="invoke", handle=_invoke)


def _invoke(svc: Services, record: SQSRecord) -> None:
    message = InvokeMessage.from_body(record.body)
    with correlation(
        event_id=message.event.id, installation_id=message.installation_id, workspace_id=message.workspace_id
    ):
        outcome = svc.dispatch.invoke(message)
        logger.debug("invoked", extra={"outcome": outcome})
