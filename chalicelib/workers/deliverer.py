"""The webhook deliverer's entry points: one SQS record, or a Lambda batch with partial failures.

The same functions serve Lambda (event source mapping on ``plugyard-<stage>-delivery``) and the local
worker runner, which long-polls the queue on moto. A record whose processing raises stays on the
queue (it is retried after the visibility timeout, and dead-lettered after the queue's
maxReceiveCount); retries of *HTTP* failures are not exceptions — the deliverer schedules them.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from chalicelib.domain.deliveries import DeliveryJob
from chalicelib.domain.messages import PoisonMessageError
from chalicelib.services.deliveries import DeliveryService
from chalicelib.telemetry import correlation

__all__ = ["handle_delivery_batch", "handle_delivery_record", "parse_delivery_record"]

logger = Logger(service="plugyard")
BATCH_CONCURRENCY = 10


def parse_delivery_record(record: Mapping[str, Any]) -> DeliveryJob:
    """The job in an SQS record (Lambda's ``body`` or boto3's ``Body``); PoisonMessageError if unreadable."""
    body = record.get("body", record.get("Body"))
    if not isinstance(body, str):
        raise PoisonMessageError("The delivery record has no body.")
    try:
        return DeliveryJob.model_validate_json(body)
    except ValidationError as exc:
        raise PoisonMessageError(f"The delivery message is not a webhook job: {exc.error_count()} errors.") from exc


def _service() -> DeliveryService:
    from chalicelib.container import services

    return services().deliveries


def handle_delivery_record(record: Mapping[str, Any], service: DeliveryService | None = None) -> None:
    """Deliver (or reschedule) the job in one SQS record; raise to leave the record on the queue."""
    job = parse_delivery_record(record)
    event_id = job.event.id if job.event is not None else None
    with correlation(
        workspace_id=job.workspace_id,
        webhook_id=job.webhook_id,
        delivery_id=job.delivery_id or event_id,  # a new delivery takes its event's id
        event_id=event_id,
    ):
        (service or _service()).handle(job)


def handle_delivery_batch(event: Mapping[str, Any], service: DeliveryService | None = None) -> dict[str, Any]:
    """Lambda handler: every record, reporting the ones that failed (ReportBatchItemFailures)."""
    records = list(event.get("Records", []))
    svc = service or (_service() if records else None)

    def one(record: Mapping[str, Any]) -> str | None:
        try:
            handle_delivery_record(record, svc)
        except PoisonMessageError as exc:
            # Retrying cannot fix it: leave it to the redrive policy, which dead-letters it.
            logger.error("poison delivery message", extra={"reason": exc.reason, "message_id": record.get("messageId")})
            return str(record.get("messageId", ""))
        except Exception:  # any failure: the record stays on the queue and is retried
            logger.exception("delivery record failed", extra={"message_id": record.get("messageId")})
            return str(record.get("messageId", ""))
        return None

    # Records of a batch go out concurrently: ten slow endpoints in a row must not outlast the visibility timeout.
    with ThreadPoolExecutor(max_workers=max(1, min(BATCH_CONCURRENCY, len(records)))) as pool:
        failed = [m for m in pool.map(one, records) if m is not None]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def poll_once(
    sqs: Any,
    queue_url: str,
    service: DeliveryService | None = None,
    *,
    max_messages: int = 10,
    wait_s: int = 1,
    visibility_timeout_s: int | None = None,
) -> int:
    """Receive one batch from the delivery queue, handle it, delete what succeeded; how many were received.

    A local stand-in for the Lambda event source mapping: a record that raises is left on the queue,
    so SQS makes it visible again after the visibility timeout (and dead-letters it eventually).
    """
    kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MaxNumberOfMessages": max_messages, "WaitTimeSeconds": wait_s}
    if visibility_timeout_s is not None:
        kwargs["VisibilityTimeout"] = visibility_timeout_s
    messages = sqs.receive_message(**kwargs).get("Messages", [])
    records = [{"messageId": m["MessageId"], "body": m["Body"], "receiptHandle": m["ReceiptHandle"]} for m in messages]
    failed = {f["itemIdentifier"] for f in handle_delivery_batch({"Records": records}, service)["batchItemFailures"]}
    done = [
        {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
        for i, r in enumerate(records)
        if r["messageId"] not in failed
    ]
    if done:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
    return len(messages)
