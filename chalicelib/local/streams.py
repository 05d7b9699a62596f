"""The local stand-in for a DynamoDB stream event source mapping: read the outbox stream on moto.

On AWS, Lambda reads the outbox table's stream and calls ``chalicelib.workers.outbox.handle_outbox_stream``.
Locally ``OutboxStreamReader`` (a thread of ``python -m chalicelib.local.workers``) reads the same stream
through the DynamoDB Streams API and calls the same handler with the same event shape. Where it got to is
kept in the meta table (``pk = stream-checkpoint``): after a batch the handler accepted, once the stream has
gone quiet (an empty read) or ``checkpoint_s`` has passed since the last save. A restarted worker resumes
after the last saved record: nothing is skipped, and what was forwarded since that save (at most
``checkpoint_s`` of events) is sent again, which consumers deduplicate on the event id (docs/events.md,
"Ordering and duplicates"), as they must for Lambda's own retries on AWS. Saving after every batch cost one
more write on the local server per event, beside each request it was serving. When the handler reports a
failure (the bus refused the events) the reader saves what was forwarded, backs off and reads again from
the record it names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["OutboxStreamReader"]

log = logging.getLogger("plugyard.streams")

StreamHandler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]

_CHECKPOINT_PK = "stream-checkpoint"


@dataclass
class OutboxStreamReader:
    """Reads every shard of a table's stream in order, hands batches to ``handler``, checkpoints them."""

    dynamodb: Any
    streams: Any
    table_name: str
    meta_table: str
    handler: StreamHandler
    stop: threading.Event
    poll_s: float = 0.02  # between reads of an idle stream (each of which the local server holds, see run)
    batch_size: int = 100
    max_backoff_s: float = 2.0
    checkpoint_s: float = 1.0  # a busy stream's position is saved at least this often

    def run(self) -> None:
        from chalicelib.local.moto_streams import long_poll

        # The local moto server then holds an empty read until a record arrives (up to half a second), so an
        # event leaves the outbox within milliseconds of its commit without polling in a tight loop.
        long_poll(self.streams)
        stream_arn = self.dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        shards = self.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        # moto keeps one shard per table; more would each get a reader, as Lambda gives each its own poller.
        for shard in shards[1:]:
            threading.Thread(target=self._read, args=(stream_arn, shard["ShardId"]), daemon=True).start()
        self._read(stream_arn, shards[0]["ShardId"])

    def _read(self, stream_arn: str, shard_id: str) -> None:
        iterator: str | None = None
        backoff = 0.0
        position = _Position()
        while not self.stop.is_set():
            try:
                if iterator is None:
                    iterator = self._iterator(stream_arn, shard_id, self._checkpoint(shard_id))
                out = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
                records = out.get("Records", [])
                if not records:
                    self._save(shard_id, position)  # quiet: a good moment to write down where it got to
                    iterator = out.get("NextShardIterator")
                    self.stop.wait(self.poll_s)
                    continue
                result = self.handler({"Records": records}, None)
                failures = list((result or {}).get("batchItemFailures", []))
                if failures:
                    resume = str(failures[0]["itemIdentifier"])
                    done = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) < int(resume)]
                    if done:
                        position.forwarded(done[-1]["dynamodb"]["SequenceNumber"])
                    self._save(shard_id, position)
                    iterator = self._iterator(stream_arn, shard_id, None, at=resume)
                    backoff = min(self.max_backoff_s, max(0.1, backoff * 2))
                    self.stop.wait(backoff)
                    continue
                backoff = 0.0
                position.forwarded(records[-1]["dynamodb"]["SequenceNumber"])
                if time.monotonic() - position.saved_at >= self.checkpoint_s:
                    self._save(shard_id, position)
                iterator = out.get("NextShardIterator")
            except Exception:
                log.exception("reading the outbox stream failed; retrying", extra={"table": self.table_name})
                iterator = None  # start again from the saved checkpoint (what was forwarded since is sent again)
                self.stop.wait(1.0)
        try:
            self._save(shard_id, position)  # stopping (SIGTERM): the next reader starts where this one ended
        except (BotoCoreError, ClientError):
            log.warning("the outbox stream's last position was not saved; it is read again from the one before")

    def _iterator(self, stream_arn: str, shard_id: str, after: str | None, *, at: str | None = None) -> str:
        kwargs: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard_id}
        if at is not None:
            kwargs.update(ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=at)
        elif after is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        return str(self.streams.get_shard_iterator(**kwargs)["ShardIterator"])

    def _key(self, shard_id: str) -> dict[str, Any]:
        return {"pk": {"S": _CHECKPOINT_PK}, "sk": {"S": f"{self.table_name}#{shard_id}"}}

    def _checkpoint(self, shard_id: str) -> str | None:
        item = self.dynamodb.get_item(TableName=self.meta_table, Key=self._key(shard_id), ConsistentRead=True)
        doc = item.get("Item", {}).get("doc", {}).get("S")
        return str(doc) if doc else None

    def _save(self, shard_id: str, position: _Position) -> None:
        if position.unsaved is None:
            return
        item = {**self._key(shard_id), "doc": {"S": position.unsaved}}
        self.dynamodb.put_item(TableName=self.meta_table, Item=item)
        position.unsaved, position.saved_at = None, time.monotonic()


@dataclass
class _Position:
    """The last record forwarded and not yet saved as the checkpoint, and when the checkpoint was last saved."""

    unsaved: str | None = None
    saved_at: float = field(default_factory=time.monotonic)

    def forwarded(self, sequence_number: str) -> None:
        self.unsaved = sequence_number
