"""The audit log's records per workspace, with the head and the chain key kept apart from them."""

from __future__ import annotations

import threading
from datetime import datetime

from chalicelib.adapters.memory.paging import page
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.models import AuditRecord

__all__ = ["InMemoryAuditRepository"]


class InMemoryAuditRepository:
    def __init__(self) -> None:
        self.items: list[AuditRecord] = []
        self.heads: dict[str, AuditRecord] = {}
        self.keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def append(self, record: AuditRecord) -> None:
        with self._lock:
            if any(r.workspace_id == record.workspace_id and r.seq == record.seq for r in self.items):
                raise ConflictError(f"audit seq {record.seq} is taken")
            self.items.append(record)
            head = self.heads.get(record.workspace_id)
            if head is None or head.seq < record.seq:
                self.heads[record.workspace_id] = record.model_copy(deep=True)

    def tail(self, workspace_id: str) -> AuditRecord | None:
        mine = [r for r in self.items if r.workspace_id == workspace_id]
        return max(mine, key=lambda r: r.seq, default=None)

    def latest(self, workspace_id: str) -> AuditRecord | None:
        return self.heads.get(workspace_id) or self.tail(workspace_id)

    def head(self, workspace_id: str) -> AuditRecord | None:
        return self.heads.get(workspace_id)

    def chain_key(self, key_id: str) -> str | None:
        return self.keys.get(key_id)

    def create_chain_key(self, key_id: str, ciphertext: str) -> str:
        with self._lock:
            return self.keys.setdefault(key_id, ciphertext)

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
