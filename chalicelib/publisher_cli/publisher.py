"""``plugyard publisher create|show``: the workspace's publisher identity."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.output import JsonOption, print_json, print_table, say

__all__ = ["register"]


def create(
    publisher_id: Annotated[str, typer.Argument(help="The id manifests name in `publisher` (lower-case, dashes).")],
    name: Annotated[str, typer.Option("--name", help="Display name shown in the marketplace.")],
    as_json: JsonOption = False,
) -> None:
    """Create your workspace's publisher (admin key; one per workspace, ids unique on the platform)."""
    with session.api() as api:
        made: dict[str, Any] = api.post("/api/publishers", {"publisher_id": publisher_id, "name": name})
    if as_json:
        print_json(made)
        return
    say(
        f"publisher [bold]{made['publisher_id']}[/bold] created: your workspace's keys now publish plugins whose "
        f'manifest says "publisher": "{made["publisher_id"]}"; a reviewer may verify it'
    )


def show(
    publisher_id: Annotated[
        str | None, typer.Argument(help="Another publisher's public profile (default: your workspace's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A publisher: name, verified badge and signing keys."""
    with session.api() as api:
        found: dict[str, Any] = api.get(f"/api/publishers/{publisher_id}" if publisher_id else "/api/publisher")
    if as_json:
        print_json(found)
        return
    badge = "verified" if found["verified"] else "not verified"
    print_table(
        f"{found['publisher_id']} — {found['name']} ({badge})",
        ("signing key", "created", "state"),
        [(k["key_id"], k["created_at"], "revoked" if k["revoked"] else "active") for k in found["keys"]],
    )


def register(app: typer.Typer) -> None:
    """Add ``plugyard publisher``."""
    sub = typer.Typer(name="publisher", help="Your workspace's publisher identity.", no_args_is_help=True)
    sub.command("create")(create)
    sub.command("show")(show)
    app.add_typer(sub, name=sub.info.name)
