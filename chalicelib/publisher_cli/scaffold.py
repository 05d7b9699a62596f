"""``plugyard init``: a new plugin folder from a template, with a test that passes on the test kit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.client import ApiClient
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, print_json, say
from chalicelib.publisher_cli.templates import TEMPLATES, render

__all__ = ["PLACEHOLDER_PUBLISHER", "plugin_id_from", "register"]

PLACEHOLDER_PUBLISHER = "my-publisher"
_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$")


def plugin_id_from(name: str) -> str:
    """A valid plugin id from a folder name: lower-case, '-' for anything else."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)
    if len(slug) < 3:
        slug = f"{slug or 'plugin'}-plugin"
    return slug[:64].rstrip("-")


def _caller_publisher() -> tuple[str | None, str]:
    """The caller's publisher id when the API is configured and answers; else None and why not."""
    try:
        conn = session.connection()
        with ApiClient(conn, timeout=5) as client:
            me: dict[str, Any] = client.get("/api/me")
    except CliError as exc:
        return None, exc.message
    publisher = me.get("publisher_id")
    if not publisher:
        return None, f"workspace '{me.get('workspace_id')}' is not a publisher"
    return str(publisher), f"your publisher at {conn.api_url}"


def init(
    folder: Annotated[Path, typer.Argument(help="The new plugin's folder (created; must be empty if it exists).")],
    template: Annotated[
        str, typer.Option(help=f"What it starts as: {', '.join(f'{k} ({v.summary})' for k, v in TEMPLATES.items())}.")
    ] = "event",
    plugin_id: Annotated[
        str | None, typer.Option("--id", help="The plugin id (default: from the folder name).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a working plugin: manifest, handler and a test for the test kit.

    When the API is configured and reachable, the manifest's publisher is yours.
    """
    if template not in TEMPLATES:
        raise CliError(f"unknown template '{template}': choose {', '.join(TEMPLATES)}", ExitCode.USAGE)
    pid = plugin_id or plugin_id_from(folder.resolve().name)
    if not _ID.match(pid):
        raise CliError(f"'{pid}' is not a valid plugin id (lower-case letters, digits and '-')", ExitCode.USAGE)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise CliError(f"{folder} exists and is not empty", ExitCode.USAGE)
    publisher, why = _caller_publisher()
    folder.mkdir(parents=True, exist_ok=True)
    files = render(template, pid, publisher or PLACEHOLDER_PUBLISHER)
    for name, content in files.items():
        (folder / name).write_text(content)
    if as_json:
        print_json({"folder": str(folder), "plugin_id": pid, "publisher": publisher, "files": sorted(files)})
        return
    say(f"created {folder}/ ({template}): {', '.join(sorted(files))}")
    if publisher:
        say(f"publisher: {publisher} ({why})")
    else:
        say(f"publisher: {PLACEHOLDER_PUBLISHER} — a placeholder ({why}); put your publisher id in plugyard.json")
    say(f"next: cd {folder} && python -m pytest (with the test kit), then `plugyard validate {folder}`")


def register(app: typer.Typer) -> None:
    app.command()(init)
