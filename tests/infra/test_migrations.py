"""Data migrations on the provisioned moto stack: up -> down -> up, data and recorded state each time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from chalicelib.cli import app as cli
from chalicelib.config import Settings
from chalicelib.migrations import (
    MIGRATIONS,
    Migration,
    MigrationContext,
    MigrationError,
    migrate_down,
    migrate_up,
    migration_status,
)
from chalicelib.migrations.m0001_plugins_search_text import MARKER

from .support import STAGE, Stack


@pytest.fixture
def ctx(stack: Stack) -> Any:
    context = MigrationContext(Settings(stage=STAGE, aws_endpoint_url=stack.endpoint_url), stack.client("dynamodb"))
    yield context
    migrate_down(context, "0")
    ddb = stack.client("dynamodb")
    for pid in ("legacy-one", "app-written"):
        ddb.delete_item(TableName="plugyard-dev-plugins", Key={"plugin_id": {"S": pid}})


def _doc(pid: str, name: str) -> str:
    return json.dumps({"plugin_id": pid, "name": name, "description": "Sends TASKS to Slack", "publisher": "Acme"})


def _seed(stack: Stack) -> None:
    ddb = stack.client("dynamodb")
    # written before search_text existed
    ddb.put_item(
        TableName="plugyard-dev-plugins",
        Item={"plugin_id": {"S": "legacy-one"}, "doc": {"S": _doc("legacy-one", "Slack Notify")}},
    )
    # written by today's application: must never be touched
    ddb.put_item(
        TableName="plugyard-dev-plugins",
        Item={
            "plugin_id": {"S": "app-written"},
            "doc": {"S": _doc("app-written", "Other")},
            "search_text": {"S": "as the app wrote it"},
        },
    )


def _items(stack: Stack) -> dict[str, dict[str, Any]]:
    ddb = stack.client("dynamodb")
    return {
        pid: ddb.get_item(TableName="plugyard-dev-plugins", Key={"plugin_id": {"S": pid}}, ConsistentRead=True)["Item"]
        for pid in ("legacy-one", "app-written")
    }


def _state(stack: Stack) -> dict[str, str]:
    out = stack.client("dynamodb").query(
        TableName="plugyard-dev-meta",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "migration"}},
    )
    return {i["sk"]["S"]: i["description"]["S"] for i in out["Items"]}


def _assert_applied(stack: Stack) -> None:
    items = _items(stack)
    assert items["legacy-one"]["search_text"] == {"S": "legacy-one slack notify sends tasks to slack acme"}
    assert items["legacy-one"][MARKER] == {"S": "0001"}
    assert items["app-written"]["search_text"] == {"S": "as the app wrote it"}
    assert MARKER not in items["app-written"]
    assert set(_state(stack)) == {"0001"}


def _assert_reverted(stack: Stack) -> None:
    items = _items(stack)
    assert "search_text" not in items["legacy-one"] and MARKER not in items["legacy-one"]
    assert items["app-written"]["search_text"] == {"S": "as the app wrote it"}
    assert _state(stack) == {}


def test_up_down_up(stack: Stack, ctx: MigrationContext) -> None:
    _seed(stack)
    assert [s.applied for s in migration_status(ctx)] == [False] * len(MIGRATIONS)

    assert migrate_up(ctx) == ["0001"]
    _assert_applied(stack)
    assert migrate_up(ctx) == []  # nothing pending: a no-op
    _assert_applied(stack)

    assert migrate_down(ctx) == ["0001"]
    _assert_reverted(stack)
    assert migrate_down(ctx) == []

    assert migrate_up(ctx) == ["0001"]
    _assert_applied(stack)
    assert [s.applied for s in migration_status(ctx)] == [True]


def test_applied_data_reads_through_the_adapter(stack: Stack, ctx: MigrationContext) -> None:
    """After up, a legacy item is readable by the application's PynamoDB model (search_text is required)."""
    from chalicelib.adapters import dynamo

    _seed(stack)
    migrate_up(ctx)
    dynamo.bind_tables(ctx.settings)
    item = dynamo.PluginItem.get("legacy-one", consistent_read=True)
    assert item.search_text.startswith("legacy-one slack notify")


def test_cli_status_up_down(stack: Stack, ctx: MigrationContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGYARD_STAGE", STAGE)
    monkeypatch.setenv("PLUGYARD_AWS_ENDPOINT_URL", stack.endpoint_url)
    runner = CliRunner()
    _seed(stack)
    result = runner.invoke(cli, ["migrate", "status"])
    assert result.exit_code == 0 and "pending" in result.output, result.output
    result = runner.invoke(cli, ["migrate", "up"])
    assert result.exit_code == 0 and "applied: 0001" in result.output, result.output
    _assert_applied(stack)
    result = runner.invoke(cli, ["migrate", "down"])
    assert result.exit_code == 0 and "reverted: 0001" in result.output, result.output
    _assert_reverted(stack)
    result = runner.invoke(cli, ["migrate", "up", "--target", "9999"])
    assert result.exit_code == 1 and "unknown migration" in result.output


def test_a_held_lock_refuses_a_second_run(stack: Stack, ctx: MigrationContext) -> None:
    ddb = stack.client("dynamodb")
    ddb.put_item(
        TableName="plugyard-dev-meta",
        Item={
            "pk": {"S": "migration-lock"},
            "sk": {"S": "migration-lock"},
            "owner": {"S": "x"},
            "expires": {"N": str(2**40)},
        },
    )
    try:
        with pytest.raises(MigrationError, match="lock"):
            migrate_up(ctx)
    finally:
        ddb.delete_item(
            TableName="plugyard-dev-meta", Key={"pk": {"S": "migration-lock"}, "sk": {"S": "migration-lock"}}
        )


def test_targets_order_and_gaps(stack: Stack, ctx: MigrationContext) -> None:
    calls: list[str] = []
    ms = tuple(
        Migration(i, f"m{i}", lambda c, i=i: calls.append(f"up{i}"), lambda c, i=i: calls.append(f"down{i}"))
        for i in ("0001", "0002", "0003")
    )
    assert migrate_up(ctx, "0002", ms) == ["0001", "0002"]
    assert migrate_down(ctx, "0001", ms) == ["0002"]
    assert migrate_up(ctx, None, ms) == ["0002", "0003"]
    assert migrate_down(ctx, "0", ms) == ["0003", "0002", "0001"]
    assert calls == ["up0001", "up0002", "down0002", "up0002", "up0003", "down0003", "down0002", "down0001"]
    with pytest.raises(MigrationError, match="unknown"):
        migrate_up(ctx, "0009", ms)
    # 0002 recorded as applied without 0001: refused, nothing runs
    key = {"pk": {"S": "migration"}, "sk": {"S": "0002"}}
    stack.client("dynamodb").put_item(
        TableName="plugyard-dev-meta", Item={**key, "applied_at": {"S": "x"}, "description": {"S": "x"}}
    )
    try:
        with pytest.raises(MigrationError, match="not applied but a later"):
            migrate_up(ctx, None, ms)
    finally:
        stack.client("dynamodb").delete_item(TableName="plugyard-dev-meta", Key=key)
    assert len(calls) == 8


def test_unknown_applied_migration_is_refused(stack: Stack, ctx: MigrationContext) -> None:
    ddb = stack.client("dynamodb")
    ddb.put_item(
        TableName="plugyard-dev-meta",
        Item={"pk": {"S": "migration"}, "sk": {"S": "9999"}, "applied_at": {"S": "x"}, "description": {"S": "x"}},
    )
    try:
        with pytest.raises(MigrationError, match="unknown to this code"):
            migration_status(ctx)
    finally:
        ddb.delete_item(TableName="plugyard-dev-meta", Key={"pk": {"S": "migration"}, "sk": {"S": "9999"}})
