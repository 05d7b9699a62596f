"""boto3 adapters of the event pipeline: the EventBridge bus and the SQS worker queues (every one of them)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.deliveries import MAX_SQS_DELAY_S
from chalicelib.domain.errors import DependencyUnavailableError
from chalicelib.domain.messages import QueueMessage
from chalicelib.domain.models import EventEnvelope

__all__ = ["EventBridgeEventBus", "SqsWorkQueues"]

_PUT_EVENTS_MAX = 10  # PutEvents entries per call
_SEND_BATCH_MAX = 10  # SendMessageBatch entries per call


class EventBridgeEventBus:
    """Publishes envelopes to the platform bus: ``source`` and ``detail-type`` from the envelope, detail = it."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    def publish(self, events: list[EventEnvelope]) -> None:
        for start in range(0, len(events), _PUT_EVENTS_MAX):
            chunk = events[start : start + _PUT_EVENTS_MAX]
            entries = [
                {
                    "EventBusName": self._bus,
                    "Source": e.source,
                    "DetailType": e.type,
                    "Detail": e.model_dump_json(),
                    "Time": e.time,
                }
                for e in chunk
            ]
            try:
                out = self._events.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise DependencyUnavailableError("The event bus is unreachable; retry shortly.") from exc
            if out.get("FailedEntryCount"):
                failed = [
                    {"id": e.id, "error": r.get("ErrorCode")}
                    for e, r in zip(chunk, out.get("Entries", []), strict=False)
                    if r.get("ErrorCode")
                ]
                raise DependencyUnavailableError("The event bus refused some events; retry shortly.", failed=failed)

    def ping(self) -> None:
        """Raise if the bus is unreachable (readiness check)."""
        self._events.describe_event_bus(Name=self._bus)


class SqsWorkQueues:
    """``plugyard-<stage>-<purpose>`` queues, the one way services reach SQS; URLs are looked up once per process."""

    def __init__(self, client: Any, name_of: dict[str, str]) -> None:
        self._sqs = client
        self._names = name_of  # purpose → queue name, e.g. {"invoke": "plugyard-dev-invoke", "invoke-dlq": …}
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def url(self, purpose: str) -> str:
        """The queue URL of a purpose (``dispatch``, ``invoke-dlq``, …)."""
        if purpose not in self._urls:
            with self._lock:
                if purpose not in self._urls:
                    self._urls[purpose] = self._sqs.get_queue_url(QueueName=self._names[purpose])["QueueUrl"]
        return self._urls[purpose]

    def send(self, messages: Sequence[QueueMessage], *, delay_s: int = 0) -> None:
        delay = {"DelaySeconds": min(max(0, int(delay_s)), MAX_SQS_DELAY_S)} if delay_s > 0 else {}
        by_queue: dict[str, list[str]] = {}
        for message in messages:
            by_queue.setdefault(message.queue, []).append(message.body())
        for purpose, bodies in by_queue.items():
            try:
                url = self.url(purpose)
                for start in range(0, len(bodies), _SEND_BATCH_MAX):
                    chunk = bodies[start : start + _SEND_BATCH_MAX]
                    out = self._sqs.send_message_batch(
                        QueueUrl=url,
                        Entries=[{"Id": str(i), "MessageBody": b, **delay} for i, b in enumerate(chunk)],
                    )
                    if out.get("Failed"):
                        raise DependencyUnavailableError(
                            f"The {purpose} queue refused {len(out['Failed'])} messages; retry shortly."
                        )
            except (ClientError, BotoCoreError) as exc:
                raise DependencyUnavailableError(f"The {purpose} queue is unreachable; retry shortly.") from exc

    def dead_letter(self, purpose: str, body: str, *, code: str, reason: str) -> None:
        """Put ``body`` on the purpose's DLQ with why it is there, for an operator (and the redrive tool) to read."""
        self._sqs.send_message(
            QueueUrl=self.url(f"{purpose}-dlq"),
            MessageBody=body,
            MessageAttributes={
                "plugyard-error-code": {"DataType": "String", "StringValue": code},
                "plugyard-error-reason": {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
                "plugyard-source-queue": {"DataType": "String", "StringValue": purpose},
            },
        )
