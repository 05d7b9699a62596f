"""moto's TransactWriteItems at the cost of the items it writes, not of the tables it touches.

moto 5.2.5 backs up every table a transaction touches with ``copy.deepcopy`` (items, indexes and the whole
stream history) so it can put the copy back if the transaction is cancelled: a two-item transaction on a
table of a few hundred items costs ~200 ms, and the cost grows with every item and stream record ever
written. The local stack's install writes one transaction per install (installation, grants, install
count, subscriptions and the outbox event), so that would make ``make run`` slower with every install.

``install()`` keeps moto's own implementation (conditions, error reasons, the cancellation exception)
and replaces only its backup: the table "copy" is the table itself, and a cancelled transaction is undone
item by item from copies of the items it touched, taken before it ran. Its stream records are held back
until it commits (and dropped if it does not), so a stream reader never sees a write that was cancelled,
as with DynamoDB Streams. Transactions run one at a time, as moto's backup-and-restore needs anyway.

Local use only (the moto server of ``make run`` and the tests); the deployed app never imports it.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

__all__ = ["install"]

_lock = threading.Lock()
_in_transaction = threading.local()
_installed = False


class _TableBackupIsTheTable:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend while a transaction runs."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(_in_transaction, "active", False) and isinstance(value, Table):
            return value  # restored item by item by ``_undo`` instead
        return copy.deepcopy(value, memo)


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import StreamShard

    original = models.DynamoDBBackend.transact_write_items
    add_record = StreamShard.add
    setattr(models, "copy", _TableBackupIsTheTable())  # moto's module, not ours: no typed attribute

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _lock:
            before = _snapshot(self, transact_items)
            _in_transaction.active = True
            _in_transaction.records = []
            try:
                original(self, transact_items)
            except Exception:
                _undo(before)
                raise
            finally:
                _in_transaction.active = False
                records, _in_transaction.records = _in_transaction.records, []
            # Committed: its stream records appear now, all together, as DynamoDB Streams shows them. Through the
            # class attribute (``add`` below, or what wraps it), so a held stream read hears of them.
            for shard, old, new in records:
                shard.add(old, new)

    def add(shard: Any, old: Any, new: Any) -> None:
        if getattr(_in_transaction, "active", False):
            # Held back until the transaction commits: a stream reader never sees a cancelled write.
            _in_transaction.records.append((shard, copy.deepcopy(old), copy.deepcopy(new)))
            return
        add_record(shard, old, new)

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    StreamShard.add = add  # type: ignore[method-assign,assignment]
    _installed = True


# (table, hash key, range key, the item before the transaction or None)
_Touched = tuple[Any, Any, Any, Any]


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> list[_Touched]:
    from moto.dynamodb.exceptions import MockValidationException

    touched: list[_Touched] = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue  # moto reports the missing table itself
            keys = op.get("Key") if op_type != "Put" else _key_of(table, op.get("Item") or {})
            try:
                hash_key, range_key = backend.get_keys_value(table, keys or {})
                item = table.get_item(hash_key, range_key)
            except MockValidationException:  # malformed keys: moto's own validation reports them
                continue
            touched.append((table, hash_key, range_key, copy.deepcopy(item)))
    return touched


def _key_of(table: Any, item: dict[str, Any]) -> dict[str, Any]:
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {n: item[n] for n in names if n in item}


def _undo(touched: list[_Touched]) -> None:
    for table, hash_key, range_key, item in reversed(touched):
        if range_key is not None:
            if item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
