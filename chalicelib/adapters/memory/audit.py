"""The audit log's records per workspace."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.models import (
    AuditRecord,
)

__all__ = ["InMemoryAuditRepository"]


class InMemoryAuditRepository:
    def __init__(self) -> None:
        self.items: list[AuditRecord] = []

    def append(self, record: AuditRecord) -> None:
        if any(r.workspace_id == record.workspace_id and r.seq == record.seq for r in self.items):
            raise ConflictError(f"audit seq {record.seq} is taken")
        self.items.append(record)

    def tail(self, workspace_id: str) -> AuditRecord | None:
        return self.latest(workspace_id)

    def latest(self, workspace_id: str) -> AuditRecord | None:
        mine = [r for r in self.items if r.workspace_id == workspace_id]
        return max(mine, key=lambda r: r.seq, default=None)

    def query(
        self,
        workspace_id: str,
        *,
        action: str | None,
        actor: str | None,
        target: str | None,
        limit: int,
        token: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        oldest_first: bool = False,
    ) -> tuple[list[AuditRecord], str | None]:
        found = sorted(
            (
                r
                for r in self.items
                if r.workspace_id == workspace_id
                and (not action or r.action == action)
                and (not actor or r.actor == actor)
                and (not target or r.target == target)
                and (since is None or r.time >= since)
                and (until is None or r.time <= until)
            ),
            key=lambda r: r.seq,
            reverse=not oldest_first,
        )
        return page(found, lambda r: {"workspace_id": r.workspace_id, "seq": r.seq}, limit, token)
