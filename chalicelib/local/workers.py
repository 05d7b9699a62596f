"""Local queue workers: long-poll the worker queues on moto and call the handlers Lambda would call on AWS.

``make run`` starts ``python -m chalicelib.local.workers`` beside the API (LocalStack.start). Each queue
gets a few poller threads; a batch is handed to the handler as the Lambda SQS event, records it did
not report in ``batchItemFailures`` are deleted, the others stay and come back after the visibility
timeout (then to the DLQ after the redrive policy's maxReceiveCount) — what the event source mapping does.

Also usable on any queue: ``python -m chalicelib.local.workers --queue-url URL --handler module:function``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["HANDLERS", "QueuePoller", "lambda_event", "main"]

log = logging.getLogger("plugyard.workers")

Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]

# queue purpose → (handler "module:function", poller threads)
HANDLERS: dict[str, tuple[str, int]] = {
    "dispatch": ("chalicelib.workers.dispatcher:handle_dispatch_batch", 1),
    "invoke": ("chalicelib.workers.invoker:handle_invoke_batch", 2),
    "delivery": ("chalicelib.workers.deliverer:handle_delivery_batch", 2),
    "deploy": ("chalicelib.workers.deployer:handle_deploy_batch", 1),
}


def load_handler(ref: str) -> Handler:
    """``module:function`` → the function."""
    module, _, name = ref.partition(":")
    fn: Handler = getattr(importlib.import_module(module), name)
    return fn


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """boto3 ReceiveMessage messages → the event Lambda's SQS event source mapping sends."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {
                    k: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.get("DataType", "String"),
                    }
                    for k, v in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


@dataclass
class QueuePoller:
    """One long-polling loop over one queue."""

    sqs: Any
    queue_url: str
    queue_arn: str
    handler: Handler
    stop: threading.Event
    region: str = "us-east-1"
    batch_size: int = 10
    wait_s: int = 1  # short waits so a stop request is honoured quickly; moto answers as soon as messages arrive
    # Received messages stay hidden this long, renewed every third of it while the handler runs: a
    # killed worker's messages come back within it, however long the queue's own timeout (None: the queue's).
    visibility_s: int | None = None

    def run_once(self) -> int:
        """Receive one batch, run the handler, delete what succeeded; returns how many records were received."""
        kwargs: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": self.batch_size,
            "WaitTimeSeconds": self.wait_s,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self.visibility_s is not None:
            kwargs["VisibilityTimeout"] = self.visibility_s
        messages = self.sqs.receive_message(**kwargs).get("Messages", [])
        if not messages:
            return 0
        handled = threading.Event()
        beat = threading.Thread(target=self._keep_hidden, args=(messages, handled), daemon=True)
        if self.visibility_s:
            beat.start()
        try:
            result = self.handler(lambda_event(messages, self.queue_arn, self.region), None)
            failed = {str(f["itemIdentifier"]) for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            # As on Lambda: a handler that raises fails the whole batch; every record comes back.
            log.exception("batch handler raised", extra={"queue": self.queue_url})
            return len(messages)
        finally:
            handled.set()
            if beat.is_alive():
                beat.join()
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return len(messages)

    def _keep_hidden(self, messages: list[dict[str, Any]], handled: threading.Event) -> None:
        hidden_s = self.visibility_s or 0
        while hidden_s and not handled.wait(hidden_s / 3):
            try:
                for start in range(0, len(messages), 10):
                    self.sqs.change_message_visibility_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": hidden_s}
                            for i, m in enumerate(messages[start : start + 10])
                        ],
                    )
            except Exception:
                log.warning("could not extend the visibility of a batch", exc_info=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("poll failed", extra={"queue": self.queue_url})
                self.stop.wait(1.0)


def _client(endpoint_url: str | None, region: str) -> Any:
    from chalicelib.adapters.aws import aws_client
    from chalicelib.config import Settings

    return aws_client(Settings(aws_endpoint_url=endpoint_url, region=region), "sqs")


def start_pollers(
    sqs: Any,
    targets: list[tuple[str, Handler, int]],
    stop: threading.Event,
    region: str,
    *,
    visibility_s: int | None = None,
) -> list[threading.Thread]:
    """Start ``threads`` pollers per (queue URL, handler, threads); they stop when ``stop`` is set."""
    started: list[threading.Thread] = []
    for url, handler, threads in targets:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for i in range(threads):
            poller = QueuePoller(sqs, url, arn, handler, stop, region=region, visibility_s=visibility_s)
            t = threading.Thread(target=poller.run, name=f"poll-{url.rsplit('/', 1)[-1]}-{i}", daemon=True)
            t.start()
            started.append(t)
    return started


def _start_outbox_reader(settings: Any, stop: threading.Event) -> threading.Thread:
    """Forward the outbox table's stream to the bus, as the outbox_forwarder function does on AWS."""
    from chalicelib.adapters.aws import aws_client
    from chalicelib.local.streams import OutboxStreamReader
    from chalicelib.workers.outbox import handle_outbox_stream

    reader = OutboxStreamReader(
        dynamodb=aws_client(settings, "dynamodb"),
        streams=aws_client(settings, "dynamodbstreams"),
        table_name=settings.table_name("outbox"),
        meta_table=settings.table_name("meta"),
        handler=handle_outbox_stream,
        stop=stop,
    )
    thread = threading.Thread(target=reader.run, name="outbox-stream", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> None:
    """Run the platform's workers (default) or one handler on one queue until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queues", default=",".join(HANDLERS), help="purposes to serve (dispatch,invoke,delivery)")
    parser.add_argument("--queue-url", help="serve this queue instead …")
    parser.add_argument("--handler", help="… with this module:function")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-outbox", action="store_true", help="do not forward the outbox stream to the bus")
    parser.add_argument(
        "--visibility-s",
        type=int,
        default=None,
        help="how soon a killed worker's messages are received again (default: 10 s; --queue-url: the queue's)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("pynamodb").setLevel(logging.WARNING)  # "Override settings … not available" at start

    from chalicelib.container import settings as process_settings

    settings = process_settings()  # the one read of this process, shared with its services
    sqs = _client(settings.aws_endpoint_url, settings.region)
    targets: list[tuple[str, Handler, int]] = []
    if args.queue_url:
        targets.append((args.queue_url, load_handler(args.handler), args.threads))
    else:
        for purpose in [p for p in args.queues.split(",") if p]:
            ref, threads = HANDLERS[purpose]
            try:
                handler = load_handler(ref)
            except (ImportError, AttributeError) as exc:
                log.warning("no handler for %s (%s); not served", purpose, exc)
                continue
            url = sqs.get_queue_url(QueueName=settings.queue_name(purpose))["QueueUrl"]
            targets.append((url, handler, threads))
        # Build the services once, before the threads race to do it.
        from chalicelib.container import services

        services()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    visibility_s = args.visibility_s if args.visibility_s is not None else (None if args.queue_url else 10)
    pollers = start_pollers(sqs, targets, stop, settings.region, visibility_s=visibility_s or None)
    if not args.queue_url and not args.no_outbox:
        pollers.append(_start_outbox_reader(settings, stop))
    log.info("workers serving %s", ", ".join(u.rsplit("/", 1)[-1] for u, _, _ in targets))
    while not stop.is_set():
        time.sleep(0.2)
    for t in pollers:
        t.join(timeout=5)


if __name__ == "__main__":
    main()
