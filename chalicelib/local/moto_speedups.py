"""Per-request costs of the moto server that do not depend on the request, computed once instead.

Profiled on the local stack (cProfile per request inside the moto server, 40 installs with the queue
workers and the outbox reader running), moto 5.2.5 spends on every request, whatever its service:

- ``moto.backends.list_of_moto_modules``: a ``listdir`` of moto's package and a ``stat`` of each entry
  (~114 system calls a request), called by the dispatcher under its one global lock to route the request.
  Each call releases the GIL, so under concurrency a request waits for the GIL again after every one.
- ``moto.core.utils.method_names_from_class``: ``inspect.getmembers`` over the responses class, to find
  the action's handler.

and on every ``PutEvents`` with an SQS target, ``jsonpath_ng.ext.parse`` of the same eight JSONPath
expressions (the default input paths), each building a new yacc parser (~16 ms a PutEvents).

``install()`` memoizes the three: the set of moto's modules and a class's methods do not change while the
server runs, and a parsed JSONPath expression is immutable (``find`` does not change it).

It also makes a ``Query`` on a table's own key read that key's partition: moto's ``Table.query`` takes
every item of the table (``all_items``, which also sorts them all) and keeps those whose hash key matches,
so a query's cost grew with the whole table (an install's versions lookup, the dispatcher's subscriptions).
The partition is what moto's filter would keep; everything after it (range conditions, order, paging,
filters, projections) is moto's own code. A query on an index still looks at every item (moto keeps no
index), but without sorting the whole table first: moto sorts what matched by the index's keys and the
table's, which order every item on their own.

Three more per-request costs, found the same way (cProfile with a thread-CPU timer, 150 installs):

- ``moto.core.utils.camelcase_to_underscores`` turns an action or attribute name into a method name, one
  character at a time (~5 calls a request; SQS's queue ``attributes`` calls it for every attribute). Its
  answer depends on its argument only, so it is memoized where moto calls it.
- every ``ReceiveMessage`` that returns a message checks the message's retention against the queue's
  ``MessageRetentionPeriod`` by building the queue's whole attribute map (every attribute, each through
  ``camelcase_to_underscores``); the check reads that one attribute instead.
- every response gets a request id of 52 random letters and digits drawn one ``choice`` at a time
  (``get_random_string``); ``choices`` draws them in one call, from the same pool and the same (seedable)
  generator.
- an ``UpdateExpression`` is tokenized and parsed twice per update (the handler checks the names and values
  it uses, the backend applies it), an install's transaction holding three: the parse of an expression
  string is memoized. Nothing changes a parsed expression: the handler only reads it, and the backend's
  validator works on its own deep copy before it substitutes values.

Behaviour is the same; only the repeated work goes. Local use only (the moto server of ``make run`` and
the tests).
"""

from __future__ import annotations

import functools
import gc
import inspect
import string
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["freeze_survivors_of_full_collections", "install"]

_installed = False
CONDITION_MEMO_SIZE = 4096  # distinct (condition, names, values); cleared when full


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    import jsonpath_ng.ext
    import moto.backends
    import moto.core.responses
    from moto.dynamodb.models.table import Table

    # Typed loosely: these are moto's and jsonpath_ng's internals, not exported names.
    responses: Any = moto.core.responses
    jsonpath: Any = jsonpath_ng.ext

    modules = tuple(moto.backends.list_of_moto_modules())

    def list_of_moto_modules() -> Iterable[str]:
        return modules

    moto.backends.list_of_moto_modules = list_of_moto_modules
    responses.method_names_from_class = _per_class(responses.method_names_from_class)
    # moto imports ``parse`` from the module inside the function that uses it, so the module attribute counts.
    jsonpath.parse = functools.lru_cache(maxsize=256)(jsonpath.parse)
    table: Any = Table
    table.query = _partition_query(table.query)
    _cheaper_names_and_ids()
    _parse_each_update_expression_once()
    _parse_each_condition_once()
    _installed = True


def freeze_survivors_of_full_collections() -> None:
    """After each full garbage collection, move what survived it out of the collector's sight (``gc.freeze``).

    The server's state (every table item, queue message and stream record) is long-lived and grows with every
    request, and each full collection walked all of it while holding the GIL: measured on the local stack,
    ~240,000 objects after 1,300 installs, a 0.6 s pause in which moto answered nothing (the p99 of every
    request around it), ~3.6 ms of moto's CPU per install. Frozen objects are still freed by reference
    counting; only a cycle among them that later becomes garbage stays (moto's items hold none). New objects
    are collected as before. For the server process only (``motoserver.main``), never a test process.
    """
    if _freeze_after_full_collection not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full_collection)


def _freeze_after_full_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def _parse_each_update_expression_once() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    parser: Any = UpdateExpressionParser
    parser.make = staticmethod(functools.lru_cache(maxsize=1024)(parser.make))


def _parse_each_condition_once() -> None:
    """A condition is parsed once per (expression, names, values), not three times per transaction item.

    moto parses an item's ``ConditionExpression`` to validate the request, again in ``transact_write_items``
    and again in the ``put_item``/``update_item`` that follows (measured on a ten-item transaction like an
    install's: 2.42 ms of CPU per transaction with every parse, 2.12–2.18 ms with one). The parsed tree is only
    read when evaluated, so one parse serves every request
    with the same expression, names and values (a condition without values, such as
    ``attribute_not_exists(#0)``, is parsed once for good). The parser's record of the names and values it
    used, which moto's validation reads afterwards, is restored with the tree. Errors are never cached.
    """
    import json

    from moto.dynamodb.comparisons import ConditionExpressionParser

    parser_cls: Any = ConditionExpressionParser
    parse = parser_cls.parse
    memo: dict[tuple[Any, ...], tuple[Any, list[str], list[str]]] = {}
    lock = threading.Lock()

    def parse_once(self: Any) -> Any:
        names, values = self.expression_attribute_names, self.expression_attribute_values
        try:
            key = (
                self.condition_expression,
                tuple(sorted(names.items())) if names else (),
                json.dumps(values, sort_keys=True) if values else "",
            )
        except (TypeError, ValueError, AttributeError):
            return parse(self)  # not a shape a request can carry: moto's own path
        with lock:
            hit = memo.get(key)
        if hit is not None:
            tree, self.expr_attr_names_found, self.expr_attr_values_found = hit[0], list(hit[1]), list(hit[2])
            return tree
        tree = parse(self)
        with lock:
            if len(memo) >= CONDITION_MEMO_SIZE:
                memo.clear()
            memo[key] = (tree, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
        return tree

    parse_once.__wrapped__ = parse  # type: ignore[attr-defined]
    parser_cls.parse = parse_once


def _cheaper_names_and_ids() -> None:
    import moto.core.utils
    import moto.sqs.models
    from moto.moto_api._internal.moto_random import MotoRandom

    utils: Any = moto.core.utils
    responses: Any = moto.core.responses
    sqs: Any = moto.sqs.models
    # Rebound in every module that imported it by name, not only where it is defined.
    cached = functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores)
    for module in (utils, responses, sqs):
        module.camelcase_to_underscores = cached

    @functools.wraps(sqs.SQSBackend.is_message_valid_based_on_retention_period)
    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return bool(retention_period + message.sent_timestamp / 1000 > sqs.unix_time())

    sqs.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period

    @functools.wraps(MotoRandom.get_random_string)
    def get_random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        random_str = "".join(self.choices(pool, k=length))
        return random_str.lower() if lower_case else random_str

    random_class: Any = MotoRandom
    random_class.get_random_string = get_random_string


def _per_class(fn: Callable[[object], list[str]]) -> Callable[[object], list[str]]:
    cache: dict[object, list[str]] = {}

    def method_names_from_class(clazz: object) -> list[str]:
        names = cache.get(clazz)
        if names is None:
            names = cache[clazz] = fn(clazz)
        return list(names)  # a copy: callers may change their list

    return method_names_from_class


class _QueryView:
    """A table as one query needs to see it: ``all_items`` is the partition of ``hash_key`` when given,
    else every item unsorted; everything else is the table's own."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        table = self._table
        if self._hash_key is None:
            if not table.range_key_attr:
                return list(table.items.values())
            return [item for partition in table.items.values() for item in partition.values()]
        partition = table.items.get(self._hash_key)  # ``get``: ``items`` is a defaultdict
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]


def _partition_query(query: Callable[..., Any]) -> Callable[..., Any]:
    names = list(inspect.signature(query).parameters)
    index_at = names.index("index_name") - 2  # its place in ``args`` (after ``self`` and ``hash_key``)

    @functools.wraps(query)
    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[index_at] if len(args) > index_at else kwargs.get("index_name")
        return query(_QueryView(self, None if index_name else hash_key), hash_key, *args, **kwargs)

    return partition_query
