"""The SQS event a worker's Lambda handler receives, built by the local worker runner's own ``lambda_event``."""

from __future__ import annotations

from typing import Any

from chalicelib.local.workers import lambda_event

__all__ = ["sqs_batch"]


def sqs_batch(bodies: list[str], *, queue: str, receives: int = 1, ids: list[str] | None = None) -> dict[str, Any]:
    """One batch of ``bodies`` from ``queue`` (message ids ``m0``, ``m1``, … unless given), each on its nth receive."""
    messages = [
        {
            "MessageId": mid,
            "ReceiptHandle": f"receipt-{mid}",
            "Body": body,
            "Attributes": {"ApproximateReceiveCount": str(receives)},
        }
        for mid, body in zip(ids or [f"m{i}" for i in range(len(bodies))], bodies, strict=True)
    ]
    return lambda_event(messages, f"arn:aws:sqs:us-east-1:123456789012:{queue}", "us-east-1")
