"""Long polling for DynamoDB Streams on the local moto server: ``GetRecords`` waits briefly for a record.

The local outbox reader (``chalicelib.local.streams``) stands in for Lambda's stream event source mapping.
Polling moto's ``GetRecords`` often enough for an event to leave the outbox within a few milliseconds
costs a full request every few milliseconds while nothing happens (measured: 50 requests a second at a
20 ms interval, ~5 ms of the moto server's CPU each, a quarter of a core on an idle stack), and polling
less often delays every event by the interval.

``install()`` lets a reader ask moto's ``GetRecords`` to behave like SQS long polling instead: a request
carrying the ``LONG_POLL_HEADER`` header (``long_poll(client)`` adds it to every ``GetRecords`` of a boto3
client) waits, when the shard holds no record past the iterator, up to ``WAIT_S`` for one, and is answered
as soon as one is there (or with no records when the wait runs out). It sleeps on a condition that every
new stream record signals, so an idle stack makes no wake-ups at all (it checked the shard every 5 ms).
The answer's shape and its next iterator are moto's own.
Requests without the header are answered at once, as DynamoDB answers them (test harnesses that pump a
stream until it is empty rely on that). Local use only (the moto server of ``make run`` and the tests);
the deployed app never imports it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["LONG_POLL_HEADER", "WAIT_S", "install", "long_poll"]

WAIT_S = 0.5  # the longest an empty GetRecords is held; a reader stops within this

LONG_POLL_HEADER = "X-Plugyard-Long-Poll"

_installed = False
_request = threading.local()  # moto answers each request on its own thread
_new_records = threading.Condition()  # signalled after every record added to any shard


def long_poll(streams_client: Any) -> None:
    """Make every ``GetRecords`` of this boto3 DynamoDB Streams client ask the local server to wait for a record."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers[LONG_POLL_HEADER] = "1"

    streams_client.meta.events.register("before-sign.dynamodbstreams.GetRecords", add_header)


def install() -> None:
    """Patch moto's DynamoDB Streams backend in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import ShardIterator
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    original = ShardIterator.get
    original_get_records = DynamoDBStreamsHandler.get_records
    # Whatever ``add`` is in place (moto_transactions holds a transaction's records back and adds them at its
    # commit through the class attribute, so a commit passes here too, whichever was installed first).
    add_record = StreamShard.add

    def add(shard: Any, old: Any, new: Any) -> None:
        add_record(shard, old, new)
        with _new_records:
            _new_records.notify_all()

    def get_records(self: Any) -> Any:
        _request.wait = bool(self.headers.get(LONG_POLL_HEADER))
        try:
            return original_get_records(self)
        finally:
            _request.wait = False

    def get(self: Any, limit: int = 1000) -> dict[str, Any]:
        shard = self.stream_shard
        deadline = time.monotonic() + (WAIT_S if getattr(_request, "wait", False) else 0.0)
        # Records past the iterator exist once the shard's list reaches its sequence number.
        with _new_records:
            while shard.starting_sequence_number + len(shard.items) <= self.sequence_number:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                _new_records.wait(left)
        result: dict[str, Any] = original(self, limit)
        return result

    setattr(ShardIterator, "get", get)  # moto's classes, patched in place
    setattr(StreamShard, "add", add)
    setattr(DynamoDBStreamsHandler, "get_records", get_records)
    _installed = True
