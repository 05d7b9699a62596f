"""Inbound triggers: an installation's named URLs that turn an outside call into ``plugin.<id>.trigger.<name>``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from chalicelib.domain.errors import (
    ConflictError,
    InstallationNotFoundError,
    InvalidTriggerSecretError,
    TriggerNotFoundError,
)
from chalicelib.domain.events import SOURCE_TRIGGER, EventAccepted, trigger_event_type
from chalicelib.domain.json_input import parse_json
from chalicelib.domain.models import Caller, Installation
from chalicelib.domain.permissions import Action
from chalicelib.domain.triggers import (
    TRIGGER_SECRET_HEADER,
    CreateTriggerRequest,
    Trigger,
    TriggerCreated,
    TriggerList,
    TriggerView,
)
from chalicelib.ports import Clock, InstallationRepository, TriggerRepository
from chalicelib.services.audit import AuditService
from chalicelib.services.events import EventService

__all__ = ["TriggerService", "new_trigger_secret"]

_SECRET_PREFIX = "pyt_"  # noqa: S105 - a public marker that makes leaked secrets recognisable, not a secret
# Compared against when a trigger does not exist, so a miss costs what a wrong secret costs.
_NO_TRIGGER = hashlib.sha256(b"no such trigger").hexdigest()


def new_trigger_secret() -> str:
    """``pyt_`` + 32 random bytes (URL-safe base64): high entropy, so a plain SHA-256 is a safe stored form."""
    return _SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TriggerService:
    """Create, list and rotate an installation's triggers; verify and turn calls into events."""

    def __init__(
        self,
        triggers: TriggerRepository,
        installs: InstallationRepository,
        events: EventService,
        audit: AuditService,
        clock: Clock,
    ) -> None:
        self._triggers = triggers
        self._installs = installs
        self._events = events
        self._audit = audit
        self._clock = clock

    def create(self, caller: Caller, installation_id: str, req: CreateTriggerRequest) -> TriggerCreated:
        """Expose a trigger; its secret is in this response only."""
        self._audit.authorize(caller, Action.MANAGE_TRIGGERS, "trigger.create", f"{installation_id}/{req.name}")
        inst = self._installation(caller, installation_id)
        if self._triggers.get(installation_id, req.name) is not None:
            raise ConflictError(f"Installation '{installation_id}' already has a trigger '{req.name}'.")
        secret = new_trigger_secret()
        trigger = Trigger(
            installation_id=installation_id,
            workspace_id=caller.workspace_id,
            plugin_id=inst.plugin_id,
            name=req.name,
            description=req.description,
            secret_sha256=_digest(secret),
            created_at=self._clock.now(),
            created_by=caller.actor,
        )
        self._triggers.put(trigger)
        self._audit.record(caller.workspace_id, caller.actor, "trigger.create", f"{installation_id}/{req.name}")
        return TriggerCreated(**_view(trigger).model_dump(), secret=secret)

    def list(self, caller: Caller, installation_id: str) -> TriggerList:
        """The installation's triggers, without secrets."""
        self._audit.authorize(caller, Action.READ_INSTALLS)
        self._installation(caller, installation_id)
        return TriggerList(items=[_view(t) for t in self._triggers.list(installation_id)])

    def rotate(self, caller: Caller, installation_id: str, name: str) -> TriggerCreated:
        """Replace the trigger's secret; the old one stops working at once."""
        self._audit.authorize(caller, Action.MANAGE_TRIGGERS, "trigger.rotate", f"{installation_id}/{name}")
        self._installation(caller, installation_id)
        found = self._triggers.get(installation_id, name)
        if found is None or found.workspace_id != caller.workspace_id:
            raise TriggerNotFoundError(installation_id, name)
        secret = new_trigger_secret()
        rotated = found.model_copy(update={"secret_sha256": _digest(secret), "rotated_at": self._clock.now()})
        self._triggers.put(rotated)
        self._audit.record(caller.workspace_id, caller.actor, "trigger.rotate", f"{installation_id}/{name}")
        return TriggerCreated(**_view(rotated).model_dump(), secret=secret)

    def fire(self, installation_id: str, name: str, secret: str | None, body: bytes) -> EventAccepted:
        """Verify the secret (constant time) and publish ``plugin.<id>.trigger.<name>`` for that installation.

        Unknown trigger and wrong secret are the same 401, so a caller cannot probe which triggers exist.
        """
        found = self._triggers.get(installation_id, name)
        expected = found.secret_sha256 if found else _NO_TRIGGER
        given = _digest(secret) if secret else ""
        if not hmac.compare_digest(given.encode(), expected.encode()) or found is None:
            raise InvalidTriggerSecretError(
                "The trigger secret is missing or wrong.", header="X-Plugyard-Trigger-Secret"
            )
        inst = self._installs.get_by_id(found.workspace_id, installation_id)
        if inst is None:
            raise InvalidTriggerSecretError(
                "The trigger secret is missing or wrong.", header="X-Plugyard-Trigger-Secret"
            )
        if inst.state != "enabled":
            raise ConflictError(f"Installation '{installation_id}' is {inst.state}; its triggers are paused.")
        payload: Any = {}
        if body.strip():  # parsed only after the secret checked out, within the platform's depth bound
            payload = parse_json(body)
        event = self._events.emit(
            found.workspace_id,
            trigger_event_type(inst.plugin_id, name),
            {"installation_id": installation_id, "trigger": name, "payload": payload},
            source=SOURCE_TRIGGER,
        )
        return EventAccepted(id=event.id, type=event.type)

    def _installation(self, caller: Caller, installation_id: str) -> Installation:
        inst = self._installs.get_by_id(caller.workspace_id, installation_id)
        if inst is None:
            raise InstallationNotFoundError(installation_id)
        return inst


def _view(t: Trigger) -> TriggerView:
    return TriggerView(
        installation_id=t.installation_id,
        name=t.name,
        description=t.description,
        path=f"/api/triggers/{t.installation_id}/{t.name}",
        event_type=trigger_event_type(t.plugin_id, t.name),
        created_at=t.created_at,
        rotated_at=t.rotated_at,
    )


def _bad_secret() -> InvalidTriggerSecretError:
    return InvalidTriggerSecretError("The trigger secret is missing or wrong.", header=TRIGGER_SECRET_HEADER)
