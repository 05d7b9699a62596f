"""The audit log: every mutating action, who did it, to what, and how it ended.

Each workspace's records form a keyed chain: a record's ``hash`` is an HMAC-SHA256, under a key that only the
platform can decrypt (KMS), over its content, its position (``seq``, ``workspace_id``) and the previous record's
``hash``. Someone who can write the AuditLog table but does not hold the key cannot rewrite, reorder or insert
records without verify noticing, and the head (the newest record, kept outside the AuditLog table) exposes
records deleted at the end. Why this design: docs/security.md, "Audit log".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Literal

from chalicelib.domain.errors import ConflictError, DependencyUnavailableError, ForbiddenError, InvalidRequestError
from chalicelib.domain.models import AuditPage, AuditRecord, AuditVerification, Caller
from chalicelib.domain.pagination import decode_token, encode_token
from chalicelib.domain.permissions import Action
from chalicelib.ports import AuditRepository, Clock, IdGenerator, SecretBox
from chalicelib.services.background import BackgroundReads

__all__ = ["AuditService", "Outcome", "record_mac"]

Outcome = Literal["success", "denied", "failed"]
SEQ_WIDTH = 12
MAX_TAILS = 10_000
# Appends in one process are serialised per workspace (striped locks); writers in other processes can still
# take a position first, and the loser retries after a jittered pause, for at most this long.
APPEND_BUDGET_S = 10.0
LOCK_STRIPES = 64
# A verify request checks at most this many records and hands back a token to continue.
MAX_VERIFY_RECORDS = 5_000
KEY_ID = "v1"
KEY_CONTEXT = {"purpose": "audit-chain", "key_id": KEY_ID}


def record_mac(key: bytes, record: AuditRecord) -> str:
    """HMAC-SHA256 over the record's canonical JSON (everything but ``hash``; ``seq`` and ``prev_hash`` included)."""
    body = record.model_dump(mode="json", exclude={"hash"})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


class AuditService:
    """Writes and reads AuditLog records of one workspace at a time."""

    def __init__(self, repo: AuditRepository, clock: Clock, ids: IdGenerator, secrets_box: SecretBox) -> None:
        self._repo = repo
        self._clock = clock
        self._ids = ids
        self._box = secrets_box
        self._key: bytes | None = None
        self._key_lock = threading.Lock()
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._tail: dict[str, AuditRecord] = {}
        self._prefetched: dict[str, Future[AuditRecord | None]] = {}
        self._readers = BackgroundReads("audit-tail")
        self._prefetch_lock = threading.Lock()

    def prefetch(self, workspace_id: str) -> None:
        """Start reading the workspace's chain tail now, so that an append later in this request need not wait.

        For requests that do other work before they append (an install resolves a version and commits its
        transaction first): the read overlaps that work instead of following it. A tail that moved meanwhile
        costs nothing but the usual conflict and retry of ``record``.
        """
        if workspace_id in self._tail or workspace_id in self._prefetched:
            return
        with self._prefetch_lock:
            if len(self._prefetched) >= MAX_TAILS:
                self._prefetched.clear()
            self._prefetched[workspace_id] = self._readers.submit(self._repo.latest, workspace_id)

    def record(
        self,
        workspace_id: str,
        actor: str,
        action: str,
        target: str,
        outcome: Outcome = "success",
        **detail: Any,
    ) -> AuditRecord:
        """Append one record to the workspace's chain (seq = previous + 1, conditional write)."""
        return self.record_with(workspace_id, actor, action, target, self._append, outcome, **detail)

    def record_with(
        self,
        workspace_id: str,
        actor: str,
        action: str,
        target: str,
        write: Callable[[AuditRecord], bool],
        outcome: Outcome = "success",
        **detail: Any,
    ) -> AuditRecord:
        """Append a record that ``write`` stores, e.g. in one transaction with the change it records.

        ``write`` returns False when the record's position was taken (then it stored nothing): the record is
        drafted again after the new tail and written again. Whatever ``write`` raises propagates, with
        nothing appended.
        """
        key = self._chain_key()
        with self._locks[zlib.crc32(workspace_id.encode()) % LOCK_STRIPES]:
            # The last record this process wrote is usually still the chain's tail: start from it and only
            # read the tail from storage when another process got there first.
            prev = self._tail.get(workspace_id)
            if prev is None:
                pending = self._prefetched.pop(workspace_id, None)
                prev = pending.result() if pending is not None else self._repo.latest(workspace_id)
            deadline = time.monotonic() + APPEND_BUDGET_S
            attempt = 0
            while True:
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
                rec.hash = record_mac(key, rec)
                if not write(rec):
                    attempt += 1
                    if time.monotonic() > deadline:
                        raise DependencyUnavailableError("The audit log is too busy to append; retry.") from None
                    # Another process took this position: back off a little (full jitter) and chain onto theirs.
                    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311 - jitter, not a secret
                    prev = self._repo.tail(workspace_id)
                    continue
                if len(self._tail) >= MAX_TAILS:
                    self._tail.clear()
                self._tail[workspace_id] = rec
                return rec

    def _append(self, rec: AuditRecord) -> bool:
        try:
            self._repo.append(rec)
        except ConflictError:
            return False
        return True

    def verify(
        self,
        caller: Caller,
        page_size: int = 500,
        *,
        token: str | None = None,
        max_records: int = MAX_VERIFY_RECORDS,
    ) -> AuditVerification:
        """Walk the caller's workspace chain oldest first; report the first record that does not fit.

        At most ``max_records`` records are checked per call; ``next_token`` then continues where it stopped.
        The walk that reaches the end compares it with the head: records deleted at the end are found there.
        """
        self.authorize(caller, Action.READ_AUDIT)
        ws = caller.workspace_id
        key = self._chain_key()
        # Read the head before the records: whatever is appended meanwhile only lengthens the chain past it.
        head = self._repo.head(ws)
        checked, prev_hash, expected_seq, page_token = self._resume(ws, token)
        stop_at = checked + max(1, max_records)
        while True:
            items, page_token = self._repo.query(
                ws,
                action=None,
                actor=None,
                target=None,
                limit=max(1, min(page_size, stop_at - checked)),
                token=page_token,
                oldest_first=True,
            )
            for rec in items:
                problem = None
                if rec.seq != str(expected_seq).zfill(SEQ_WIDTH) or rec.workspace_id != ws:
                    problem = f"expected seq {expected_seq}: a record is missing or out of place"
                elif not hmac.compare_digest(rec.hash, record_mac(key, rec)):
                    problem = "content does not match its keyed hash: the record was modified or forged"
                elif rec.prev_hash != prev_hash:
                    problem = "prev_hash does not match the previous record: records were removed or reordered"
                if problem:
                    return AuditVerification(ok=False, checked=checked, first_bad_seq=rec.seq, reason=problem)
                checked += 1
                expected_seq += 1
                prev_hash = rec.hash
            if not page_token:
                return self._against_head(ws, head, key, checked, expected_seq)
            if checked >= stop_at:
                position = {"ws": ws, "page": page_token, "checked": str(checked), "hash": prev_hash}
                return AuditVerification(ok=True, checked=checked, complete=False, next_token=encode_token(position))

    @staticmethod
    def _against_head(
        ws: str, head: AuditRecord | None, key: bytes, checked: int, expected_seq: int
    ) -> AuditVerification:
        """The end of a walk: the chain must reach the head, and the head must be one of ours."""
        last = expected_seq - 1
        if head is None:
            if last == 0:
                return AuditVerification(ok=True, checked=checked)
            return AuditVerification(
                ok=False, checked=checked, reason="the chain's head is missing: it was deleted outside the platform"
            )
        if head.workspace_id != ws or not hmac.compare_digest(head.hash, record_mac(key, head)):
            return AuditVerification(ok=False, checked=checked, reason="the chain's head was modified or forged")
        if int(head.seq) > last:
            return AuditVerification(
                ok=False,
                checked=checked,
                first_bad_seq=str(last + 1).zfill(SEQ_WIDTH),
                reason=f"the chain ends at seq {last}, its head at {int(head.seq)}: the newest records were deleted",
            )
        return AuditVerification(ok=True, checked=checked)

    def _resume(self, ws: str, token: str | None) -> tuple[int, str, int, str | None]:
        """(checked, prev_hash, expected_seq, storage token) at the start or where a previous call stopped."""
        position = decode_token(token)
        if position is None:
            return 0, "", 1, None
        try:
            checked = int(position["checked"])
            prev_hash, page = position["hash"], position["page"]
            if position["ws"] != ws or checked < 1:
                raise ValueError(ws)
        except (KeyError, ValueError) as exc:
            raise InvalidRequestError("next_token does not belong to this verification.") from exc
        return checked, prev_hash, checked + 1, page

    def _chain_key(self) -> bytes:
        """The chain's MAC key: created once per stage (random, stored encrypted), decrypted once per process."""
        if self._key is None:
            with self._key_lock:
                if self._key is None:
                    ciphertext = self._repo.chain_key(KEY_ID)
                    if ciphertext is None:
                        fresh = base64.b64encode(secrets.token_bytes(32)).decode()
                        ciphertext = self._repo.create_chain_key(KEY_ID, self._box.encrypt(fresh, context=KEY_CONTEXT))
                    self._key = base64.b64decode(self._box.decrypt(ciphertext, context=KEY_CONTEXT))
        return self._key

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
