"""Long polling for DynamoDB Streams on the local moto server: ``GetRecords`` waits briefly for a record.

The local outbox reader (``chalicelib.local.streams``) stands in for Lambda's stream event source mapping.
Polling moto's ``GetRecords`` often enough for an event to leave the outbox within a few milliseconds
costs a full request every few milliseconds while nothing happens (measured: 50 requests a second at a
20 ms interval, ~5 ms of the moto server's CPU each, a quarter of a core on an idle stack), and polling
less often delays every event by the interval.

``install()`` makes moto's ``GetRecords`` behave like SQS long polling instead: when the shard holds no
record past the iterator it waits up to ``WAIT_S`` for one, checking the shard's record list in memory,
and answers as soon as one is there (or with no records when the wait runs out, as before). The answer's
shape and its next iterator are moto's own. DynamoDB itself answers at once; only the local server waits.
Local use only (the moto server of ``make run`` and the tests); the deployed app never imports it.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["CHECK_S", "WAIT_S", "install"]

WAIT_S = 0.5  # the longest an empty GetRecords is held; a reader stops within this
CHECK_S = 0.005  # how often a held GetRecords looks at the shard (a list length, no I/O)

_installed = False


def install() -> None:
    """Patch moto's DynamoDB Streams backend in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodbstreams.models import ShardIterator

    original = ShardIterator.get

    def get(self: Any, limit: int = 1000) -> dict[str, Any]:
        shard = self.stream_shard
        deadline = time.monotonic() + WAIT_S
        # Records past the iterator exist once the shard's list reaches its sequence number.
        while shard.starting_sequence_number + len(shard.items) <= self.sequence_number:
            if time.monotonic() >= deadline:
                break
            time.sleep(CHECK_S)
        result: dict[str, Any] = original(self, limit)
        return result

    setattr(ShardIterator, "get", get)  # moto's class, patched in place
    _installed = True
