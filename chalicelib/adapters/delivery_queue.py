"""The delivery queue on SQS: the deliverer's follow-ups, delayed by SQS itself (at most 900 s a hop)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.deliveries import MAX_SQS_DELAY_S, DeliveryJob

__all__ = ["SqsDeliveryQueue"]


class SqsDeliveryQueue:
    """Sends DeliveryJobs to ``plugyard-<stage>-delivery``; the URL is looked up on first use."""

    def __init__(self, client: Any, queue_name: str, *, queue_url: str | None = None) -> None:
        self._sqs = client
        self._name = queue_name
        self._url = queue_url

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = str(self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"])
        return self._url

    def send(self, job: DeliveryJob, *, delay_s: int) -> None:
        self._sqs.send_message(
            QueueUrl=self.url,
            MessageBody=job.model_dump_json(exclude_none=True),
            DelaySeconds=max(0, min(int(delay_s), MAX_SQS_DELAY_S)),
        )
