"""Versioned data migrations, applied in order, their state recorded in the MetaTable.

A migration is a `Migration(id, description, up, down)`; `up(ctx)` and `down(ctx)` must be
idempotent (a run interrupted half-way is simply run again) and `down` must undo exactly what
`up` did. State: one MetaTable item per applied migration, `pk = "migration"`, `sk = <id>`,
with `applied_at` and `description`. A run holds a lease item (`pk = "migration-lock"`) so two
operators cannot migrate one stage at the same time.

Migrations freeze the logic they need instead of importing the adapters' current code: a
migration must do tomorrow what it did the day it was written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.errors import MigrationError

__all__ = [
    "MIGRATIONS",
    "Migration",
    "MigrationContext",
    "MigrationError",
    "MigrationStatus",
    "migrate_down",
    "migrate_up",
    "migration_status",
]

STATE_PK = "migration"
LOCK_PK = "migration-lock"
LOCK_TTL_S = 15 * 60


@dataclass(frozen=True)
class MigrationContext:
    """What a migration gets: the settings (stage, endpoint) and a DynamoDB client."""

    settings: Settings
    dynamodb: Any
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def table(self, purpose: str) -> str:
        """The table ``plugyard-<stage>-<purpose>``."""
        return self.settings.table_name(purpose)

    def scan(self, purpose: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a table (paginated, consistent reads), with optional scan arguments."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table(purpose), ConsistentRead=True, **kwargs
        )
        for page in pages:
            yield from page.get("Items", [])


@dataclass(frozen=True)
class Migration:
    """One versioned, reversible data change."""

    id: str
    description: str
    up: Callable[[MigrationContext], None]
    down: Callable[[MigrationContext], None]


@dataclass(frozen=True)
class MigrationStatus:
    migration: Migration
    applied_at: str | None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None


def _registry() -> tuple[Migration, ...]:
    from chalicelib.migrations import m0001_plugins_search_text

    modules = (m0001_plugins_search_text,)
    found = tuple(Migration(m.MIGRATION_ID, m.DESCRIPTION, m.up, m.down) for m in modules)
    ids = [m.id for m in found]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        raise MigrationError(f"migration ids must be unique and ascending: {ids}")
    return found


MIGRATIONS: tuple[Migration, ...] = _registry()


def _applied(ctx: MigrationContext) -> dict[str, str]:
    out = ctx.dynamodb.query(
        TableName=ctx.table("meta"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": STATE_PK}},
        ConsistentRead=True,
    )
    return {i["sk"]["S"]: i["applied_at"]["S"] for i in out.get("Items", [])}


def migration_status(ctx: MigrationContext, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[MigrationStatus]:
    """Every known migration, in order, with when it was applied (None if it is not)."""
    applied = _applied(ctx)
    unknown = set(applied) - {m.id for m in migrations}
    if unknown:
        raise MigrationError(f"applied migrations unknown to this code: {sorted(unknown)} (is the code older?)")
    return [MigrationStatus(m, applied.get(m.id)) for m in migrations]


@contextmanager
def _lease(ctx: MigrationContext) -> Iterator[None]:
    from botocore.exceptions import ClientError

    owner = uuid.uuid4().hex
    now = int(ctx.now().timestamp())
    try:
        ctx.dynamodb.put_item(
            TableName=ctx.table("meta"),
            Item={
                "pk": {"S": LOCK_PK},
                "sk": {"S": LOCK_PK},
                "owner": {"S": owner},
                "expires": {"N": str(now + LOCK_TTL_S)},
            },
            ConditionExpression="attribute_not_exists(pk) OR expires < :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise MigrationError("another migration run holds the lock; retry in a few minutes") from exc
        raise
    try:
        yield
    finally:
        ctx.dynamodb.delete_item(
            TableName=ctx.table("meta"),
            Key={"pk": {"S": LOCK_PK}, "sk": {"S": LOCK_PK}},
            ConditionExpression="#o = :owner",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )


def migrate_up(
    ctx: MigrationContext, target: str | None = None, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[str]:
    """Apply every pending migration up to and including `target` (default: all); returns their ids."""
    if target is not None and target not in {m.id for m in migrations}:
        raise MigrationError(f"unknown migration {target!r}")
    done: list[str] = []
    with _lease(ctx):
        statuses = migration_status(ctx, migrations)
        for i, st in enumerate(statuses):
            if not st.applied and any(later.applied for later in statuses[i + 1 :]):
                raise MigrationError(f"{st.migration.id} is not applied but a later migration is; fix by hand")
        for st in statuses:
            if not st.applied:
                st.migration.up(ctx)
                ctx.dynamodb.put_item(
                    TableName=ctx.table("meta"),
                    Item={
                        "pk": {"S": STATE_PK},
                        "sk": {"S": st.migration.id},
                        "applied_at": {"S": ctx.now().isoformat()},
                        "description": {"S": st.migration.description},
                    },
                )
                done.append(st.migration.id)
            if st.migration.id == target:
                break
    return done


def migrate_down(
    ctx: MigrationContext, target: str | None = None, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[str]:
    """Revert the last applied migration, or every applied one after `target` ("0" reverts all)."""
    if target not in (None, "0") and target not in {m.id for m in migrations}:
        raise MigrationError(f"unknown migration {target!r}")
    done: list[str] = []
    with _lease(ctx):
        applied = [st.migration for st in migration_status(ctx, migrations) if st.applied]
        for m in reversed(applied):
            if target is not None and m.id <= target:
                break
            m.down(ctx)
            ctx.dynamodb.delete_item(TableName=ctx.table("meta"), Key={"pk": {"S": STATE_PK}, "sk": {"S": m.id}})
            done.append(m.id)
            if target is None:
                break
    return done
