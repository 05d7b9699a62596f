"""`plugyard-admin`: operator commands (`python -m chalicelib.cli --help`).

Reads the same PLUGYARD_* settings as the app (chalicelib/config.py): PLUGYARD_STAGE picks the
stage's tables, PLUGYARD_AWS_ENDPOINT_URL points at a local AWS (the moto server). Operator
tooling only: the deployed API never imports this module (typer is a dev dependency).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from chalicelib.config import Settings
from chalicelib.migrations import (
    MigrationContext,
    MigrationError,
    migrate_down,
    migrate_up,
    migration_status,
)

__all__ = ["app", "main"]

app = typer.Typer(name="plugyard-admin", help="Operate a Plugyard stage.", no_args_is_help=True)
migrate = typer.Typer(help="Versioned data migrations (state in plugyard-<stage>-meta).", no_args_is_help=True)
app.add_typer(migrate, name="migrate")
console = Console()

StageOption = Annotated[str | None, typer.Option("--stage", help="Stage (default: PLUGYARD_STAGE or dev).")]


def _context(stage: str | None) -> MigrationContext:
    from chalicelib.adapters.aws import aws_client

    settings = Settings() if stage is None else Settings(stage=stage)
    return MigrationContext(settings=settings, dynamodb=aws_client(settings, "dynamodb"))


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


@migrate.command("status")
def status(stage: StageOption = None) -> None:
    """List every migration and whether it is applied."""
    ctx = _context(stage)
    try:
        rows = migration_status(ctx)
    except MigrationError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"migrations of {ctx.table('meta')}")
    for column in ("id", "applied at", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.migration.id, row.applied_at or "[yellow]pending[/yellow]", row.migration.description)
    console.print(table)


@migrate.command("up")
def up(
    stage: StageOption = None,
    target: Annotated[str | None, typer.Option(help="Stop after this migration id (default: all).")] = None,
) -> None:
    """Apply pending migrations in order."""
    try:
        done = migrate_up(_context(stage), target)
    except MigrationError as exc:
        raise _fail(exc) from exc
    console.print(f"applied: {', '.join(done)}" if done else "nothing to apply")


@migrate.command("down")
def down(
    stage: StageOption = None,
    target: Annotated[
        str | None, typer.Option(help="Revert every migration after this id ('0': all). Default: the last one.")
    ] = None,
) -> None:
    """Revert the last applied migration (or down to --target)."""
    try:
        done = migrate_down(_context(stage), target)
    except MigrationError as exc:
        raise _fail(exc) from exc
    console.print(f"reverted: {', '.join(done)}" if done else "nothing to revert")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
