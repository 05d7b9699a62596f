"""What every queue worker does with a batch: powertools partial failures, poison and last-attempt dead-lettering.

The one batch strategy of every worker queue, on Lambda (the SQS event source mapping calls the worker's
handler) and locally (chalicelib/local/workers.py hands each received batch to that same handler as the
same event). A record's handler raises to have the record retried (it stays on the queue and returns
after the visibility timeout). Two cases are dead-lettered by the worker itself, with the reason as
message attributes (``plugyard-error-code``, ``plugyard-error-reason``, ``plugyard-source-queue``), so
an operator reading the DLQ sees why:

* PoisonMessageError — no retry can fix the message (not JSON, not the queue's message shape);
* a failure on the queue's last receive (``ApproximateReceiveCount`` ≥ MAX_RECEIVES, the redrive
  policy's ``maxReceiveCount``), where SQS would otherwise dead-letter it silently.

Records run ``concurrency`` at a time (powertools' AsyncBatchProcessor): one at a time, on the caller's
thread, where a record may take minutes; several, on a pool of the batch's own, where each waits on the
network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.domain.messages import PoisonMessageError

if TYPE_CHECKING:
    from chalicelib.container import Services

__all__ = ["MAX_RECEIVES", "run_batch"]

log = logging.getLogger(__name__)

MAX_RECEIVES = 5  # infra/template.yaml RedrivePolicy.maxReceiveCount of every worker queue


def run_batch(
    event: Mapping[str, Any],
    context: Any,
    services: Services | None,
    *,
    purpose: str,
    handle: Callable[[Services, SQSRecord], None],
    concurrency: int = 1,
) -> dict[str, Any]:
    """Process an SQS batch with ``services`` (None: the process's); ``{"batchItemFailures": [...]}`` to retry."""
    from chalicelib.container import services as current

    svc = services or current()
    queues = svc.adapters.queues

    def settle(record: SQSRecord) -> None:
        try:
            handle(svc, record)
        except PoisonMessageError as exc:
            log.error("poison message", extra={"queue": purpose, "message_id": record.message_id, "reason": exc.reason})
            queues.dead_letter(purpose, record.body, code=exc.code, reason=exc.reason)
        except Exception as exc:
            receives = int(record.attributes.approximate_receive_count or 1)
            if receives < MAX_RECEIVES:
                log.warning(
                    "record failed; will be retried",
                    extra={"queue": purpose, "message_id": record.message_id, "receives": receives},
                    exc_info=True,
                )
                raise
            reason = f"{type(exc).__name__}: {exc}"
            log.error("retries exhausted", extra={"queue": purpose, "message_id": record.message_id, "reason": reason})
            queues.dead_letter(purpose, record.body, code="retries-exhausted", reason=reason)

    # Several at once: the batch's own threads, exactly ``concurrency`` of them (asyncio's default
    # executor would cap them at the machine's core count plus four). One at a time: on the caller's thread.
    pool = (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"batch-{purpose}") if concurrency > 1 else None
    )

    async def record_handler(record: SQSRecord) -> None:  # powertools wants the parameter named ``record``
        if pool is None:
            settle(record)
        else:
            await asyncio.get_running_loop().run_in_executor(pool, settle, record)

    # One processor per batch: it keeps per-batch state, and local workers run batches on several threads.
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        response = async_process_partial_response(
            event=dict(event), record_handler=record_handler, processor=processor, context=context
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return dict(response)
