"""Inbound triggers: named entry points of an installation, each guarded by its own secret."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.events import TRIGGER_NAME_PATTERN

__all__ = ["TRIGGER_SECRET_HEADER", "CreateTriggerRequest", "Trigger", "TriggerCreated", "TriggerList", "TriggerView"]

TRIGGER_SECRET_HEADER = "X-Plugyard-Trigger-Secret"  # noqa: S105 - the header's name, not a secret


class CreateTriggerRequest(BaseModel):
    """Expose a named trigger on an installation."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(pattern=TRIGGER_NAME_PATTERN, description="Lower-case name; part of the URL and event type.")
    description: str = Field("", max_length=500)


class Trigger(BaseModel):
    """A trigger as stored: the SHA-256 of its secret, never the secret."""

    installation_id: str
    workspace_id: str
    plugin_id: str
    name: str
    description: str = ""
    secret_sha256: str
    created_at: datetime
    created_by: str
    rotated_at: datetime | None = None


class TriggerView(BaseModel):
    """A trigger as the API shows it."""

    installation_id: str
    name: str
    description: str
    path: str = Field(description="Where to POST: /api/triggers/{installation_id}/{name}.")
    event_type: str = Field(description="The event a call becomes: plugin.<id>.trigger.<name>.")
    created_at: datetime
    rotated_at: datetime | None = None


class TriggerCreated(TriggerView):
    """The one response that carries the trigger's secret (on create and rotate)."""

    secret: str = Field(description=f"Send it as {TRIGGER_SECRET_HEADER}. Shown once; store it now.")


class TriggerList(BaseModel):
    """An installation's triggers."""

    items: list[TriggerView]
