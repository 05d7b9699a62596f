"""The outbox forwarder: the outbox table's stream → the EventBridge bus.

On AWS a Lambda function reads the stream (event source mapping, ``ReportBatchItemFailures``, retried
until the bus takes the events, then an on-failure destination); locally ``chalicelib.local.streams``
reads the same stream on moto and calls the same handler. Records are published in stream order; when
the bus refuses a chunk, the handler reports the first record not yet published, and the stream is read
again from there: a failing bus delays events, it never loses them. A record published twice (a retry
after a partial failure) is the one duplicate the pipeline allows; its envelope keeps its ``id``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from chalicelib.adapters.dynamo.outbox import envelope_of_image
from chalicelib.domain.errors import PlugyardError
from chalicelib.domain.models import EventEnvelope
from chalicelib.ports import EventBus

__all__ = ["handle_outbox_stream"]

log = logging.getLogger(__name__)

CHUNK = 10  # PutEvents entries per call

_bus: EventBus | None = None


def _default_bus() -> EventBus:
    """The stage's EventBridge bus, built once per process from Settings."""
    global _bus
    if _bus is None:
        from chalicelib.adapters.aws import aws_client
        from chalicelib.adapters.messaging import EventBridgeEventBus
        from chalicelib.config import Settings

        settings = Settings()
        _bus = EventBridgeEventBus(aws_client(settings, "events"), settings.bus_name)
    return _bus


def handle_outbox_stream(event: Mapping[str, Any], context: Any = None, bus: EventBus | None = None) -> dict[str, Any]:
    """Lambda handler of the outbox stream; ``batchItemFailures`` names the record to resume from."""
    target = bus or _default_bus()
    pending: list[tuple[str, EventEnvelope]] = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue  # TTL expiries and deletions announce nothing
        stream = record.get("dynamodb", {})
        try:
            envelope = envelope_of_image(stream["NewImage"])
        except (KeyError, ValueError, ValidationError):
            # Only this module's writer fills the table; an unreadable record cannot become readable.
            log.error("unreadable outbox record skipped", extra={"sequence_number": stream.get("SequenceNumber")})
            continue
        pending.append((str(stream.get("SequenceNumber", "")), envelope))
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        try:
            target.publish([envelope for _, envelope in chunk])
        except PlugyardError:
            log.warning("the bus refused outbox events; they will be retried", exc_info=True)
            return {"batchItemFailures": [{"itemIdentifier": chunk[0][0]}]}
    return {"batchItemFailures": []}
