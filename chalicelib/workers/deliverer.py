"""The webhook deliverer: delivery queue → at most one signed attempt per record, through the common batch strategy.

Called by Lambda's SQS event source mapping on AWS (``app.deliverer``) and by the local worker runner
(chalicelib/local/workers.py), which long-polls the same queue on moto and hands each batch to this same
handler. A record whose processing raises stays on the queue (retried after the visibility timeout,
dead-lettered with the reason on its last receive); retries of *HTTP* failures are not exceptions —
the deliverer schedules them as delayed follow-up messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.domain.deliveries import DeliveryJob
from chalicelib.telemetry import correlation
from chalicelib.workers.batch import run_batch

if TYPE_CHECKING:
    from chalicelib.container import Services

__all__ = ["BATCH_CONCURRENCY", "handle_delivery_batch"]

# Records of a batch go out concurrently: ten slow endpoints in a row must not outlast the visibility timeout.
BATCH_CONCURRENCY = 10


def handle_delivery_batch(
    event: Mapping[str, Any], context: Any = None, services: Services | None = None
) -> dict[str, Any]:
    """Lambda handler of the delivery queue (partial batch failures)."""
    return run_batch(event, context, services, purpose="delivery", handle=_deliver, concurrency=BATCH_CONCURRENCY)


def _deliver(svc: Services, record: SQSRecord) -> None:
    job = DeliveryJob.from_body(record.body)
    event_id = job.event.id if job.event is not None else None
    with correlation(
        workspace_id=job.workspace_id,
        webhook_id=job.webhook_id,
        delivery_id=job.delivery_id or event_id,  # a new delivery takes its event's id
        event_id=event_id,
    ):
        svc.deliveries.handle(job)
