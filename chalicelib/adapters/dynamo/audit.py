"""The audit log: a keyed hash chain per workspace in its own table; its head and key in the meta table.

The head lives outside the records' table so that someone who can write the AuditLog table cannot hide the
deletion of the newest records: verify compares the chain's end with the head (docs/security.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.base import (
    STORED,
    DocItem,
    MetaItem,
    TableMeta,
    Translate,
    dump,
    get_or_none,
    is_conditional,
    page_start,
    page_token,
)
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.models import AuditRecord

__all__ = ["AuditItem", "DynamoAuditRepository", "add_audit", "audit_writes", "conditional_failed"]


class AuditItem(DocItem):
    class Meta(TableMeta):
        purpose = "audit-log"

    workspace_id = UnicodeAttribute(hash_key=True)
    seq = UnicodeAttribute(range_key=True)
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    target = UnicodeAttribute()
    time = UnicodeAttribute(null=True)


def _audit_head(workspace_id: str) -> str:
    return f"audithead#{workspace_id}"


def _chain_key(key_id: str) -> tuple[str, str]:
    # One key for the stage's chains (workspaces are told apart inside the MAC); its id leaves room for rotation.
    return "auditkey", key_id


def audit_writes(record: AuditRecord) -> tuple[AuditItem, MetaItem, list[Action], Condition]:
    """The record's item, its workspace's head, the head's update and its condition (the head only moves forward).

    The record is put with ``AuditItem.seq.does_not_exist()``: that condition is what claims its position.
    """
    item = AuditItem(
        record.workspace_id,
        record.seq,
        action=record.action,
        actor=record.actor,
        target=record.target,
        time=record.time.isoformat(),
        doc=dump(record),
    )
    seq = int(record.seq)
    head = MetaItem(_audit_head(record.workspace_id), "head")
    head_moves: list[Action] = [MetaItem.gen.set(seq), MetaItem.doc.set(item.doc)]
    return item, head, head_moves, MetaItem.gen.does_not_exist() | (MetaItem.gen < seq)


def add_audit(tx: TransactWrite, record: AuditRecord, *, move_head: bool = True) -> None:
    """Add the record (its conditional put claims its position) and, unless told not to, its head's move to ``tx``.

    In PynamoDB's order the record is one of the puts and the head one of the updates.
    """
    item, head, head_moves, head_is_older = audit_writes(record)
    tx.save(item, condition=AuditItem.seq.does_not_exist())
    if move_head:
        tx.update(head, actions=head_moves, condition=head_is_older)


class DynamoAuditRepository:
    """The chain's records, plus a head item per workspace (meta table) pointing at the newest one.

    A record's conditional put is what claims its position; the head only speeds up finding the tail (one
    GetItem instead of a Query, which moto runs in time linear in the table). A record and its head are
    written in one TransactWriteItems, and the head moves forward only; a head left behind (a chain written
    before heads moved with their records) is repaired by the next append, which finds the true tail by
    Query after its first conflict (``tail``).
    """

    def append(self, record: AuditRecord) -> None:
        # The record and its head in one round trip (and together: no head is left behind by a crash).
        try:
            with TransactWrite(connection=AuditItem._get_connection().connection) as tx:
                add_audit(tx, record)
            return
        except TransactWriteError as exc:
            record_taken, head_newer = (conditional_failed(exc, i) for i in (0, 1))
            if record_taken:
                raise ConflictError(f"audit seq {record.seq} is taken") from exc
            if not head_newer:
                raise
        # A head already past this record (only when records were removed under it): the record still
        # claims its position on its own, and the head stays where it is, for verify to report.
        try:
            audit_writes(record)[0].save(condition=AuditItem.seq.does_not_exist())
        except PutError as exc:
            if is_conditional(exc):
                raise ConflictError(f"audit seq {record.seq} is taken") from exc
            raise

    def latest(self, workspace_id: str) -> AuditRecord | None:
        with Translate():
            head = get_or_none(MetaItem, _audit_head(workspace_id), "head")
        if head is not None and head.doc:
            return AuditRecord.model_validate_json(head.doc, context=STORED)
        return self.tail(workspace_id)  # no head yet (or a chain older than heads)

    def tail(self, workspace_id: str) -> AuditRecord | None:
        with Translate():
            for item in AuditItem.query(workspace_id, scan_index_forward=False, limit=1, consistent_read=True):
                return item.load(AuditRecord)
        return None

    def head(self, workspace_id: str) -> AuditRecord | None:
        with Translate():
            head = get_or_none(MetaItem, _audit_head(workspace_id), "head", consistent_read=True)
        return AuditRecord.model_validate_json(head.doc, context=STORED) if head and head.doc else None

    def chain_key(self, key_id: str) -> str | None:
        with Translate():
            item = get_or_none(MetaItem, *_chain_key(key_id), consistent_read=True)
        return item.doc if item is not None else None

    def create_chain_key(self, key_id: str, ciphertext: str) -> str:
        try:
            with Translate():
                MetaItem(*_chain_key(key_id), doc=ciphertext).save(condition=MetaItem.pk.does_not_exist())
        except PutError as exc:
            if not is_conditional(exc):
                raise
            with Translate():
                stored = get_or_none(MetaItem, *_chain_key(key_id), consistent_read=True)
            if stored is None or stored.doc is None:
                raise
            return stored.doc
        return ciphertext

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
        cond = None
        for attr, value in ((AuditItem.action, action), (AuditItem.actor, actor), (AuditItem.target, target)):
            if value:
                cond = attr == value if cond is None else cond & (attr == value)
        # Records store ISO-8601 UTC strings, which compare in time order; a bound is compared in UTC too, or a
        # bound written with another offset (…T12:00:00+02:00) would compare as the wrong instant.
        if since is not None:
            c = AuditItem.time >= since.astimezone(UTC).isoformat()
            cond = c if cond is None else cond & c
        if until is not None:
            c = AuditItem.time <= until.astimezone(UTC).isoformat()
            cond = c if cond is None else cond & c
        with Translate():
            it = AuditItem.query(
                workspace_id,
                filter_condition=cond,
                scan_index_forward=oldest_first,
                limit=limit,
                page_size=max(limit, 100),
                last_evaluated_key=page_start(token),
            )
            items = [i.load(AuditRecord) for i in it]
            lek = it.last_evaluated_key
        return items, page_token(lek) if len(items) == limit else None


def conditional_failed(exc: TransactWriteError, index: int) -> bool:
    """Whether the transaction's ``index``-th item failed its condition."""
    reasons = exc.cancellation_reasons or []
    reason = reasons[index] if index < len(reasons) else None
    return reason is not None and reason.code == "ConditionalCheckFailed"
