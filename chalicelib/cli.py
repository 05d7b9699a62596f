"""`plugyard-admin`: operator commands (`python -m chalicelib.cli --help`).

Reads the same PLUGYARD_* settings as the app (chalicelib/config.py): PLUGYARD_STAGE picks the
stage's tables, PLUGYARD_AWS_ENDPOINT_URL points at a local AWS (the moto server). Operator
tooling only: the deployed API never imports this module (typer is a dev dependency).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from chalicelib.services.auth import AuthService

__all__ = ["app", "main"]

app = typer.Typer(name="plugyard-admin", help="Operate a Plugyard stage.", no_args_is_help=True)
migrate = typer.Typer(help="Versioned data migrations (state in plugyard-<stage>-meta).", no_args_is_help=True)
app.add_typer(migrate, name="migrate")
workspaces = typer.Typer(help="Workspaces and their first keys (operator actions, audited).", no_args_is_help=True)
app.add_typer(workspaces, name="workspace")
console = Console()

StageOption = Annotated[str | None, typer.Option("--stage", help="Stage (default: PLUGYARD_STAGE or dev).")]


def _context(stage: str | None) -> MigrationContext:
    from chalicelib.adapters.aws import aws_client

    settings = Settings() if stage is None else Settings(stage=stage)
    return MigrationContext(settings=settings, dynamodb=aws_client(settings, "dynamodb"))


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
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


def _auth(stage: str | None) -> AuthService:
    """The auth service of a stage, on its own tables and key (what the API's services use)."""
    from chalicelib.adapters import dynamo
    from chalicelib.adapters.aws import KmsSecretBox, aws_client
    from chalicelib.adapters.system import SystemClock, UlidGenerator
    from chalicelib.services.audit import AuditService
    from chalicelib.services.auth import AuthService

    settings = Settings() if stage is None else Settings(stage=stage)
    dynamo.bind_tables(settings)
    clock, ids = SystemClock(), UlidGenerator()
    secrets = KmsSecretBox(aws_client(settings, "kms"), settings.secrets_key)
    audit = AuditService(dynamo.DynamoAuditRepository(), clock, ids, secrets)
    return AuthService(
        dynamo.DynamoWorkspaceRepository(),
        dynamo.DynamoApiKeyRepository(),
        dynamo.DynamoPublisherRepository(),
        audit,
        clock,
        ids,
    )


def _unreachable(exc: BaseException, stage: str | None) -> RuntimeError:
    """One line naming the root cause of an AWS failure and what to set, instead of a traceback."""
    root, seen = exc, exc
    while (nxt := seen.__cause__ or seen.__context__) is not None:
        seen = nxt
        if str(seen):  # the deepest cause that says something (a refused connection says nothing)
            root = seen
    settings = Settings() if stage is None else Settings(stage=stage)
    where = settings.aws_endpoint_url or f"AWS ({settings.region})"
    return RuntimeError(
        f"cannot reach stage '{settings.stage}' at {where}: {type(root).__name__}: {root}. "
        "Set the stage's AWS credentials, or PLUGYARD_AWS_ENDPOINT_URL (make workspace ENDPOINT=…) "
        "for make run's stack."
    )


@workspaces.command("create")
def create_workspace(
    workspace_id: Annotated[str, typer.Argument(help="The new workspace's id.")],
    name: Annotated[str, typer.Option(help="Its display name.")],
    publisher: Annotated[str | None, typer.Option(help="Let it publish plugins under this publisher id.")] = None,
    role: Annotated[
        str, typer.Option(help="Role of the first key: admin, or reviewer for the platform team's workspace.")
    ] = "admin",
    stage: StageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a workspace and issue its first key, printed once (it is stored only as a hash)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.domain.errors import ConflictError, DependencyUnavailableError
    from chalicelib.domain.permissions import Role

    if role not in ("admin", "reviewer"):
        raise _fail(ValueError(f"--role must be admin or reviewer, not {role!r}"))
    auth = _auth(stage)
    try:
        auth.create_workspace(workspace_id, name, publisher_id=publisher)
        created = auth.issue_key(workspace_id, Role(role), f"first {role} key", created_by="operator")
    except ConflictError as exc:
        raise _fail(exc) from exc
    except (DependencyUnavailableError, BotoCoreError, ClientError) as exc:
        raise _fail(_unreachable(exc, stage)) from exc
    if as_json:
        typer.echo(
            json.dumps({"workspace_id": workspace_id, "key_id": created.key_id, "role": role, "key": created.key})
        )
        return
    console.print(f"workspace [bold]{workspace_id}[/bold] created; its {role} key (shown once, keep it secret):")
    typer.echo(created.key)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
