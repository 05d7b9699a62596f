"""The audit log: every mutating action, who did it, to what, and how it ended."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from chalicelib.domain.errors import ConflictError, DependencyUnavailableError, ForbiddenError
from chalicelib.domain.models import AuditPage, AuditRecord, AuditVerification, Caller
from chalicelib.domain.permissions import Action
from chalicelib.ports import AuditRepository, Clock, IdGenerator

__all__ = ["AuditService", "Outcome", "record_hash"]

Outcome = Literal["success", "denied", "failed"]
SEQ_WIDTH = 12
MAX_RACE_RETRIES = 20
MAX_TAILS = 10_000


def record_hash(record: AuditRecord) -> str:
    """sha256 over the record's canonical JSON (everything but ``hash``, ``prev_hash`` included)."""
    body = record.model_dump(mode="json", exclude={"hash"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class AuditService:
    """Writes and reads AuditLog records of one workspace at a time."""

    def __init__(self, repo: AuditRepository, clock: Clock, ids: IdGenerator) -> None:
        self._repo = repo
        self._clock = clock
        self._ids = ids
        self._tail: dict[str, AuditRecord] = {}

    def record(
        self,
        workspace_id: str,
        actor: str,
        action: str,
        target: str,
        outcome: Outcome = "success",
        **detail: Any,
    ) -> AuditRecord:
        """Append one record to the workspace's hash chain (seq = previous + 1, conditional write)."""
        # The last record this process wrote is usually still the chain's tail: start from it and only
        # read the tail from storage when another writer got there first.
        prev = self._tail.get(workspace_id) or self._repo.latest(workspace_id)
        for _ in range(MAX_RACE_RETRIES):
            rec = AuditRecord(
                workspace_id=workspace_id,
                seq=str(int(prev.seq) + 1 if prev else 1).zfill(SEQ_WIDTH),
                time=self._clock.now(),
                actor=actor,
                action=action,
                target=target,
                outcome=outcome,
                detail=detail,
                prev_hash=prev.hash if prev else "",
            )
            rec.hash = record_hash(rec)
            try:
                self._repo.append(rec)
            except ConflictError:
                prev = self._repo.tail(workspace_id)  # another writer took this seq: chain onto theirs
                continue
            if len(self._tail) >= MAX_TAILS:
                self._tail.clear()
            self._tail[workspace_id] = rec
            return rec
        raise DependencyUnavailableError("The audit log is too busy to append; retry.")

    def verify(self, caller: Caller, page_size: int = 500) -> AuditVerification:
        """Walk the caller's workspace chain oldest first; report the first record that does not fit."""
        self.authorize(caller, Action.READ_AUDIT)
        checked, prev_hash, expected_seq, token = 0, "", 1, None
        while True:
            items, token = self._repo.query(
                caller.workspace_id,
                action=None,
                actor=None,
                target=None,
                limit=page_size,
                token=token,
                oldest_first=True,
            )
            for rec in items:
                problem = None
                if rec.seq != str(expected_seq).zfill(SEQ_WIDTH):
                    problem = f"expected seq {expected_seq}: a record is missing"
                elif rec.prev_hash != prev_hash:
                    problem = "prev_hash does not match the previous record"
                elif rec.hash != record_hash(rec):
                    problem = "content does not match its hash: the record was modified"
                if problem:
                    return AuditVerification(ok=False, checked=checked, first_bad_seq=rec.seq, reason=problem)
                checked += 1
                expected_seq += 1
                prev_hash = rec.hash
            if not token:
                return AuditVerification(ok=True, checked=checked)

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
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        token: str | None = None,
    ) -> AuditPage:
        """The caller's workspace's records, newest first."""
        self.authorize(caller, Action.READ_AUDIT)
        items, next_token = self._repo.query(
            caller.workspace_id,
            action=action,
            actor=actor,
            target=target,
            since=since,
            until=until,
            limit=limit,
            token=token,
        )
        return AuditPage(items=items, next_token=next_token)
