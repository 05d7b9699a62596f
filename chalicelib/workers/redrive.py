"""Move dead letters back to their queue once the cause is fixed: ``python -m chalicelib.workers.redrive``.

    python -m chalicelib.workers.redrive dispatch            # every message of plugyard-<stage>-dispatch-dlq
    python -m chalicelib.workers.redrive invoke --max 10 --dry-run

Prints each message's ``plugyard-error-code`` / ``plugyard-error-reason`` (set when a worker dead-lettered
it) before moving it. Messages are sent to the source queue first and deleted from the DLQ after, so a
crash in between duplicates a message rather than losing it (the workers tolerate duplicates).
On AWS the console's "Start DLQ redrive" (SQS StartMessageMoveTask) does the same without the reasons.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["main", "redrive"]

_OURS = ("plugyard-error-code", "plugyard-error-reason", "plugyard-source-queue")


def redrive(
    sqs: Any, dlq_url: str, queue_url: str, *, max_messages: int, dry_run: bool = False
) -> list[dict[str, str]]:
    """Move up to ``max_messages`` from ``dlq_url`` to ``queue_url``; returns what was (or would be) moved."""
    moved: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(moved) < max_messages:
        out = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, max_messages - len(moved)),
            WaitTimeSeconds=0,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
        )
        messages = [m for m in out.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            break
        for m in messages:
            seen.add(m["MessageId"])
            attrs = m.get("MessageAttributes", {})
            moved.append(
                {
                    "message_id": m["MessageId"],
                    "code": attrs.get("plugyard-error-code", {}).get("StringValue", "(redrive policy)"),
                    "reason": attrs.get("plugyard-error-reason", {}).get("StringValue", ""),
                }
            )
            if dry_run:
                continue
            keep = {k: v for k, v in attrs.items() if k not in _OURS}
            sqs.send_message(QueueUrl=queue_url, MessageBody=m["Body"], **({"MessageAttributes": keep} if keep else {}))
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
    return moved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("purpose", choices=["dispatch", "invoke", "delivery", "deploy"])
    parser.add_argument("--max", type=int, default=1000, dest="max_messages")
    parser.add_argument("--dry-run", action="store_true", help="list the dead letters and their reasons only")
    args = parser.parse_args(argv)

    from chalicelib.adapters.aws import aws_client
    from chalicelib.config import Settings

    settings = Settings()
    sqs = aws_client(settings, "sqs")
    dlq = sqs.get_queue_url(QueueName=settings.queue_name(f"{args.purpose}-dlq"))["QueueUrl"]
    queue = sqs.get_queue_url(QueueName=settings.queue_name(args.purpose))["QueueUrl"]
    moved = redrive(sqs, dlq, queue, max_messages=args.max_messages, dry_run=args.dry_run)
    for m in moved:
        print(f"{m['message_id']}  {m['code']}  {m['reason']}")
    print(f"{'would move' if args.dry_run else 'moved'} {len(moved)} message(s) from {dlq} to {queue}")


if __name__ == "__main__":
    main()
