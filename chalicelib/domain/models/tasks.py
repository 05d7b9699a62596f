"""The reference host application's tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["Task"]


class Task(BaseModel):
    """A task of the reference host application; its lifecycle emits ``task.*`` events."""

    workspace_id: str
    task_id: str
    title: str
    status: Literal["pending", "running", "completed", "failed", "vetoed"] = "pending"
    data: dict[str, Any] = Field(default_factory=dict)
    annotations: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
