"""The audit log: records, a page of them, and the result of verifying the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["AuditPage", "AuditRecord", "AuditVerification"]


class AuditRecord(BaseModel):
    """Who did what to which target, and how it ended."""

    workspace_id: str
    seq: str
    time: datetime
    actor: str
    action: str
    target: str
    outcome: Literal["success", "denied", "failed"]
    detail: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str = Field("", description="hash of the previous record of the workspace ('' for the first)")
    hash: str = Field("", description="HMAC-SHA256 (the platform's audit key) of this record's content and prev_hash")


class AuditVerification(BaseModel):
    """Result of walking a workspace's audit hash chain."""

    ok: bool
    checked: int
    first_bad_seq: str | None = None
    reason: str | None = None
    complete: bool = Field(True, description="false when this call stopped early; continue with next_token")
    next_token: str | None = None


class AuditPage(BaseModel):
    """One page of the workspace's audit log, newest first."""

    items: list[AuditRecord]
    next_token: str | None = None
