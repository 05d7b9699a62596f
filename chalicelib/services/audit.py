"""The audit log: every mutating action, who did it, to what, and how it ended."""

from __future__ import annotations

from typing import Any, Literal

from chalicelib.domain.errors import ForbiddenError
from chalicelib.domain.models import AuditPage, AuditRecord, Caller
from chalicelib.domain.permissions import Action
from chalicelib.ports import AuditRepository, Clock, IdGenerator

__all__ = ["AuditService", "Outcome"]

Outcome = Literal["success", "denied", "failed"]


class AuditService:
    """Writes and reads AuditLog records of one workspace at a time."""

    def __init__(self, repo: AuditRepository, clock: Clock, ids: IdGenerator) -> None:
        self._repo = repo
        self._clock = clock
        self._ids = ids

    def record(
        self,
        workspace_id: str,
        actor: str,
        action: str,
        target: str,
        outcome: Outcome = "success",
        **detail: Any,
    ) -> AuditRecord:
        """Append one record; seq is a ULID so records sort by time within a workspace."""
        rec = AuditRecord(
            workspace_id=workspace_id,
            seq=self._ids.new_id(),
            time=self._clock.now(),
            actor=actor,
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
        )
        self._repo.append(rec)
        return rec

    def authorize(self, caller: Caller, action: Action, audited_as: str | None = None, target: str = "") -> None:
        """Raise ForbiddenError if the role lacks the action; denied mutations are audited."""
        if caller.can(action):
            return
        if audited_as:
            self.record(caller.workspace_id, caller.actor, audited_as, target, "denied", role=caller.role.value)
        raise ForbiddenError(
            f"Role '{caller.role.value}' may not {action.value}.", role=caller.role.value, action=action.value
        )

    def list(
        self,
        caller: Caller,
        *,
        action: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        limit: int = 50,
        token: str | None = None,
    ) -> AuditPage:
        """The caller's workspace's records, newest first."""
        self.authorize(caller, Action.READ_AUDIT)
        items, next_token = self._repo.query(
            caller.workspace_id, action=action, actor=actor, target=target, limit=limit, token=token
        )
        return AuditPage(items=items, next_token=next_token)
