"""The audit log's records, its head and its chain key."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.domain.models import AuditRecord
from chalicelib.ports.platform import Page

__all__ = ["AuditRepository"]


class AuditRepository(Protocol):
    def append(self, record: AuditRecord) -> None:
        """Store a record; ConflictError if its seq is taken (another writer won the race)."""
        ...

    def latest(self, workspace_id: str) -> AuditRecord | None:
        """The newest record, fast (may lag after a crash; ``tail`` is exact)."""
        ...

    def tail(self, workspace_id: str) -> AuditRecord | None:
        """The newest record, read from the records themselves."""
        ...

    def head(self, workspace_id: str) -> AuditRecord | None:
        """The head anchored outside the records (the newest record appended), read consistently; None if none."""
        ...

    def chain_key(self, key_id: str) -> str | None:
        """The encrypted key of the chain's MACs, None before the first append ever."""
        ...

    def create_chain_key(self, key_id: str, ciphertext: str) -> str:
        """Store the encrypted chain key unless one exists; return the one stored (first writer wins)."""
        ...

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
    ) -> Page[AuditRecord]: ...
