"""The dispatcher: dispatch queue (fed by the EventBridge rule) → one message per subscriber.

Called by Lambda's SQS event source mapping on AWS (registered in app.py) and by the local worker
runner (chalicelib/local/workers.py), which long-polls the same queue on moto.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.domain.messages import parse_dispatch_body
from chalicelib.telemetry import correlation
from chalicelib.workers.batch import run_batch

if TYPE_CHECKING:
    from chalicelib.container import Services

__all__ = ["handle_dispatch_batch"]

logger = Logger(service="plugyard", child=True)


def handle_dispatch_batch(
    event: Mapping[str, Any], context: Any = None, services: Services | None = None
) -> dict[str, Any]:
    """Lambda handler of the dispatch queue (partial batch failures)."""
    return run_batch(event, context, services, purpose="dispatch", handle=_dispatch)


def _dispatch(svc: Services, record: SQSRecord) -> None:
    envelope = parse_dispatch_body(record.body)
    with correlation(event_id=envelope.id, workspace_id=envelope.workspace_id):
        result = svc.dispatch.dispatch(envelope)
        logger.debug("dispatched", extra=result.model_dump())
