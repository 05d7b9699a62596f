"""Publishing events: envelopes built and checked against the catalog, then handed to the bus."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain.errors import PlugyardError, ValidationFailedError
from chalicelib.domain.events import SOURCE_HOST, SOURCE_WORKSPACE, EventAccepted, PublishEventRequest, data_errors
from chalicelib.domain.models import Caller, EventEnvelope
from chalicelib.domain.permissions import Action
from chalicelib.ports import Clock, EventBus, IdGenerator
from chalicelib.services.audit import AuditService

__all__ = ["EventService"]

log = logging.getLogger(__name__)


class EventService:
    """Builds envelopes (ULID id, time from the clock), validates ``data`` and publishes them."""

    def __init__(self, bus: EventBus, audit: AuditService, clock: Clock, ids: IdGenerator) -> None:
        self._bus = bus
        self._audit = audit
        self._clock = clock
        self._ids = ids

    def envelope(
        self, workspace_id: str, event_type: str, data: dict[str, Any], *, source: str = SOURCE_HOST
    ) -> EventEnvelope:
        """A new envelope whose ``data`` matches the type's schema (ValidationFailedError otherwise)."""
        errors = data_errors(event_type, data)
        if errors:
            raise ValidationFailedError(
                f"The data does not match the schema of '{event_type}'.", event_type=event_type, errors=errors
            )
        return EventEnvelope(
            id=self._ids.new_id(),
            source=source,
            type=event_type,
            workspace_id=workspace_id,
            time=self._clock.now(),
            data=data,
        )

    def emit(
        self, workspace_id: str, event_type: str, data: dict[str, Any], *, source: str = SOURCE_HOST
    ) -> EventEnvelope:
        """Publish one event; DependencyUnavailableError when the bus refuses it."""
        event = self.envelope(workspace_id, event_type, data, source=source)
        self._bus.publish([event])
        return event

    def emit_after_commit(
        self, workspace_id: str, event_type: str, data: dict[str, Any], *, source: str = SOURCE_HOST
    ) -> EventEnvelope | None:
        """Publish an event about a change already stored: a bus failure is logged, never raised.

        The change stands either way; raising would report a failure for something that happened.
        """
        try:
            return self.emit(workspace_id, event_type, data, source=source)
        except PlugyardError:
            log.exception("event not published", extra={"workspace_id": workspace_id, "event_type": event_type})
            return None

    def publish(self, caller: Caller, req: PublishEventRequest) -> EventAccepted:
        """A workspace publishes its own ``workspace.<name>`` event (admin)."""
        self._audit.authorize(caller, Action.PUBLISH_EVENTS, "event.publish", req.type)
        event = self.emit(caller.workspace_id, req.type, req.data, source=SOURCE_WORKSPACE)
        self._audit.record(caller.workspace_id, caller.actor, "event.publish", event.id, event_type=req.type)
        return EventAccepted(id=event.id, type=event.type)
