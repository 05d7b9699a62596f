"""The envelope every event travels in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["EventEnvelope"]


class EventEnvelope(BaseModel):
    """The one envelope every event travels in (host, plugin or workspace-published)."""

    id: str = Field(description="ULID, unique per event.")
    source: str = Field(description="plugyard.host, plugyard.plugin.<id> or plugyard.workspace")
    type: str
    workspace_id: str
    time: datetime
    data: dict[str, Any] = Field(default_factory=dict)
