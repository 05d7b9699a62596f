"""The local moto server's memoized per-request work answers exactly what moto computes itself."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import jsonpath_ng.ext
import moto.backends
import moto.core.responses
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

from chalicelib.local import moto_speedups


def test_memoized_routing_and_jsonpath_answer_as_moto_does() -> None:
    # What moto computes on every request without the patch, read straight from its own functions.
    modules = sorted(moto.backends.list_of_moto_modules())
    methods = {cls: moto.core.utils.method_names_from_class(cls) for cls in (DynamoHandler, SQSResponse)}
    event = {"detail": {"type": "plugin.installed", "n": [1, 2]}, "id": "e1"}
    expected = [m.value for m in importlib.import_module("jsonpath_ng.ext").parse("$.detail.n[1]").find(event)]

    moto_speedups.install()
    moto_speedups.install()  # idempotent

    assert sorted(moto.backends.list_of_moto_modules()) == modules
    assert "dynamodb" in moto.backends.list_of_moto_modules()
    for cls, names in methods.items():
        got = moto.core.responses.method_names_from_class(cls)
        assert got == names and "receive_message" in methods[SQSResponse]
        got.append("not-a-method")  # a caller changing its list does not change the next answer
        assert moto.core.responses.method_names_from_class(cls) == names
    first = jsonpath_ng.ext.parse("$.detail.n[1]")
    assert jsonpath_ng.ext.parse("$.detail.n[1]") is first  # parsed once
    assert [m.value for m in first.find(event)] == expected == [2]


def test_a_query_on_the_tables_key_reads_its_partition_and_answers_as_moto_does(monkeypatch) -> None:
    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    moto_speedups.install()
    patched = Table.query
    original = patched.__wrapped__
    scanned: list[int] = []
    all_items = Table.all_items

    def counting_all_items(self):  # moto taking the whole table, sorted, to answer a query
        items = all_items(self)
        scanned.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counting_all_items)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for p in range(20):
            for s in range(5):
                item = {"pk": {"S": f"p{p:02d}"}, "sk": {"S": f"s{s}"}, "g": {"S": f"g{s % 2}"}, "n": {"N": str(s)}}
                ddb.put_item(TableName="t", Item=item)
        queries = [
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p03"}}},
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "absent"}}},
            {
                "KeyConditionExpression": "pk = :p AND sk > :s",
                "ExpressionAttributeValues": {":p": {"S": "p07"}, ":s": {"S": "s1"}},
                "ScanIndexForward": False,
                "Limit": 2,
            },
            {
                "KeyConditionExpression": "pk = :p",
                "FilterExpression": "n >= :n",
                "ExpressionAttributeValues": {":p": {"S": "p11"}, ":n": {"N": "3"}},
            },
            {"IndexName": "by-g", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "g1"}}},
        ]
        for q in queries:
            monkeypatch.setattr(Table, "query", original)
            expected = ddb.query(TableName="t", **q)
            monkeypatch.setattr(Table, "query", patched)
            scanned.clear()
            got = ddb.query(TableName="t", **q)
            for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey"):
                assert got.get(key) == expected.get(key), (q, key)
            # no query takes the whole table sorted any more (an index query still looks at every item)
            assert scanned == [], q
        assert expected["Count"] == 40  # the index query found every g1 item (two in each of 20 partitions)


def test_memoized_names_retention_check_and_request_ids_answer_as_moto_does(monkeypatch) -> None:
    import string

    import moto.core.utils
    import moto.sqs.models
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.sqs.models import Message, SQSBackend

    moto_speedups.install()
    # moto's own functions, which each patch keeps as ``__wrapped__``.
    original_names = moto.core.utils.camelcase_to_underscores.__wrapped__
    original_retention = SQSBackend.is_message_valid_based_on_retention_period.__wrapped__
    original_random_string = MotoRandom.get_random_string.__wrapped__
    assert original_names.__module__ == "moto.core.utils" and original_retention.__module__ == "moto.sqs.models"
    names = ["ReceiveMessage", "MessageRetentionPeriod", "KmsDataKeyReusePeriodSeconds", "TransactWriteItems", "a", ""]
    for name in names:
        for module in (moto.core.utils, moto.core.responses, moto.sqs.models):
            assert module.camelcase_to_underscores(name) == original_names(name)
    assert moto.core.responses.camelcase_to_underscores("ReceiveMessage") == "receive_message"

    backend = SQSBackend("us-east-1", "123456789012")
    backend.create_queue("short", MessageRetentionPeriod="60")
    backend.create_queue("default")
    now = 1_800_000_000.0
    monkeypatch.setattr(moto.sqs.models, "unix_time", lambda: now)
    for queue in ("short", "default"):
        for age_s in (0, 59.5, 60, 61, 86400 * 4 - 1, 86400 * 4, 86400 * 5):
            message = Message("m", "body")
            message.sent_timestamp = int((now - age_s) * 1000)
            got = backend.is_message_valid_based_on_retention_period(queue, message)
            assert got == original_retention(backend, queue, message), (queue, age_s)

    rng = MotoRandom()
    for kwargs in ({"length": 52}, {}, {"length": 8, "include_digits": False}, {"length": 30, "lower_case": True}):
        rng.seed(7)
        got = rng.get_random_string(**kwargs)
        want = original_random_string(rng, **kwargs)
        assert len(got) == len(want)
        pool = string.ascii_letters + (string.digits if kwargs.get("include_digits", True) else "")
        allowed = set(pool.lower() if kwargs.get("lower_case") else pool)
        assert set(got) <= allowed and set(want) <= allowed
    rng.seed(7)
    first = rng.get_random_string(length=52)
    rng.seed(7)
    assert rng.get_random_string(length=52) == first  # a seeded generator still repeats its ids


def test_update_expressions_parsed_once_apply_as_moto_applies_them() -> None:
    import boto3
    from moto import mock_aws
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    moto_speedups.install()
    original = UpdateExpressionParser.make.__wrapped__  # moto's own parse
    expression = "SET #c = if_not_exists(#c, :zero) + :one, tags = list_append(tags, :t) REMOVE gone ADD n :one"
    assert UpdateExpressionParser.make(expression) is UpdateExpressionParser.make(expression)
    assert _tree(UpdateExpressionParser.make(expression)) == _tree(original(expression))
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _hash_keyed_table(ddb, "t")
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "tags": {"L": []}, "gone": {"S": "x"}})
        for i in range(3):  # the same expression with other values each time: each update gets its own
            values = {":zero": {"N": "0"}, ":one": {"N": str(i + 1)}, ":t": {"L": [{"S": f"t{i}"}]}}
            ddb.update_item(
                TableName="t",
                Key={"pk": {"S": "a"}},
                UpdateExpression=expression,
                ExpressionAttributeNames={"#c": "count"},
                ExpressionAttributeValues=values,
            )
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": {"pk": {"S": f"tx{i % 2}"}},
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": str(i + 1)}},
                        }
                    }
                ]
            )
        item = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
        assert item["count"] == {"N": "6"} and item["n"] == {"N": "6"} and "gone" not in item
        assert item["tags"] == {"L": [{"S": "t0"}, {"S": "t1"}, {"S": "t2"}]}
        assert ddb.get_item(TableName="t", Key={"pk": {"S": "tx0"}})["Item"]["n"] == {"N": "4"}
        assert ddb.get_item(TableName="t", Key={"pk": {"S": "tx1"}})["Item"]["n"] == {"N": "2"}
        try:
            ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET = broken")
        except ddb.exceptions.ClientError as exc:  # a parse error is still moto's own answer
            assert exc.response["Error"]["Code"] == "ValidationException"
        else:
            raise AssertionError("a malformed update expression was accepted")


def _tree(node: object) -> object:
    """A parsed expression as nested tuples of node types and leaf values, to compare two parses."""
    if not hasattr(node, "children"):
        return repr(node)
    children = node.children
    return (type(node).__name__, tuple(_tree(c) for c in children) if isinstance(children, list) else repr(children))


def test_full_collections_freeze_their_survivors_and_new_garbage_is_still_collected() -> None:
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    # In a process of its own: the collector's settings are process-wide, and this one is the server's.
    script = textwrap.dedent(
        """
        import gc
        from chalicelib.local.moto_speedups import freeze_survivors_of_full_collections

        freeze_survivors_of_full_collections()
        freeze_survivors_of_full_collections()  # idempotent: one callback
        assert gc.callbacks.count(gc.callbacks[-1]) == 1
        state = [[i, {"n": [i]}] for i in range(50_000)]  # long-lived (and tracked), like a table's items
        gc.collect()
        frozen = gc.get_freeze_count()
        assert frozen >= len(state), frozen
        assert not any(o is state for o in gc.get_objects())  # a full collection no longer walks it
        for _ in range(3):  # garbage made afterwards, cycles included, is still found and freed
            a, b = [], []
            a.append(b)
            b.append(a)
            del a, b
            assert gc.collect() >= 2
        assert state[49_999] == [49_999, {"n": [49_999]}]
        print("ok", frozen)
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "plugin-runtime")])}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, cwd=root, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")


def test_conditions_parsed_once_judge_as_moto_judges_them(monkeypatch) -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    moto_speedups.install()
    trees = {ConditionExpressionParser("attribute_not_exists(#k)", {"#k": "pk"}, None).parse() for _ in range(2)}
    assert len(trees) == 1  # parsed once, then served from the memo
    memoized = _condition_outcomes()
    monkeypatch.setattr(ConditionExpressionParser, "parse", ConditionExpressionParser.parse.__wrapped__)
    assert memoized == _condition_outcomes()  # moto's own parse, every time
    assert memoized.count("ok") >= 3 and "ConditionalCheckFailedException" in memoized
    assert "TransactionCanceledException" in memoized and "ValidationException" in memoized
    assert any(o.startswith("ValueError") for o in memoized)  # a parse error is raised every time


def _condition_outcomes() -> list[str]:
    """Conditional puts and transaction checks, the same conditions again and again with other values."""
    import boto3
    from moto import mock_aws

    out = []
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _hash_keyed_table(ddb, "c")

        def attempt(call: Callable[[], object]) -> str:
            try:
                call()
            except ddb.exceptions.ClientError as exc:
                return str(exc.response["Error"]["Code"])
            except ValueError as exc:  # how moto's parser refuses bad syntax in-process
                return f"ValueError: {exc}"
            return "ok"

        cases: list[tuple[int, str, dict[str, str], dict[str, Any] | None]] = [
            (1, "attribute_not_exists(#k)", {"#k": "pk"}, None),
            (2, "attribute_not_exists(#k)", {"#k": "pk"}, None),
            (3, "#n < :v", {"#n": "n"}, {":v": {"N": "5"}}),
            (4, "#n < :v", {"#n": "n"}, {":v": {"N": "5"}}),
            (9, "#n < :v", {"#n": "n"}, {":v": {"N": "4"}}),
            (1, "#n < :v", {"#n": "n"}, {":v": {"N": "2"}}),
            (1, "attribute_exists(#k)", {"#k": "pk", "#x": "unused"}, None),
            (1, "attribute_exists(#k)", {"#k": "pk", "#x": "unused"}, None),
            (1, "attribute_exists(", {}, None),
            (1, "attribute_exists(", {}, None),
        ]
        for n, condition, names, values in cases:
            kwargs: dict[str, Any] = {"ConditionExpression": condition, "ExpressionAttributeNames": names}
            if values:
                kwargs["ExpressionAttributeValues"] = values
            item = {"pk": {"S": "a"}, "n": {"N": str(n)}}
            out.append(attempt(lambda: ddb.put_item(TableName="c", Item=item, **kwargs)))
            check = {"ConditionCheck": {"TableName": "c", "Key": {"pk": {"S": "a"}}, **kwargs}}
            out.append(attempt(lambda: ddb.transact_write_items(TransactItems=[check])))
    return out


def _hash_keyed_table(ddb: Any, name: str) -> None:
    """A table keyed by a string ``pk`` alone."""
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
