"""``plugyard login``, ``logout`` and ``whoami``: the saved profile and who the API says you are."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.client import ApiClient
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, print_json, print_table, say
from chalicelib.publisher_cli.profiles import DEFAULT_PROFILE, Connection, delete_profile, save_profile

__all__ = ["register"]


def _read_key() -> str:
    """The API key from a hidden prompt on a terminal, else the first line of stdin (``echo $KEY | …``)."""
    key = str(typer.prompt("API key", hide_input=True)) if sys.stdin.isatty() else sys.stdin.readline()
    key = key.strip()
    if not key:
        raise CliError("no API key given (type it at the prompt, or pipe it on stdin)", ExitCode.USAGE)
    return key


def login(
    api_url: Annotated[str, typer.Option("--api-url", help="The API's base URL, e.g. http://127.0.0.1:8000.")],
    as_json: JsonOption = False,
) -> None:
    """Check an API key against the API and save it as a profile (0600, under your config folder).

    The key is read from a hidden prompt, or from stdin when piped: `printf %s "$KEY" | plugyard login …`.
    """
    name = session.current.profile or session.env().get("PLUGYARD_PROFILE") or DEFAULT_PROFILE
    key = _read_key()
    conn = Connection(api_url=api_url.rstrip("/"), api_key=key, profile=name, source="login")
    with ApiClient(conn) as client:
        me = client.get("/api/me")
    path = save_profile(session.env(), name, conn.api_url, key)
    if as_json:
        print_json({"profile": name, "api_url": conn.api_url, "file": str(path), **me})
        return
    who = f"workspace [bold]{me['workspace_id']}[/bold] ({me['role']})"
    say(f"logged in to {conn.api_url} as {who}; profile '{name}' saved in {path}")


def logout() -> None:
    """Forget the saved profile (its API key); publisher signing keys stay."""
    name = session.current.profile or session.env().get("PLUGYARD_PROFILE") or DEFAULT_PROFILE
    if not delete_profile(session.env(), name):
        raise CliError(f"no saved profile '{name}'", ExitCode.USAGE)
    say(f"profile '{name}' removed")


def whoami(as_json: JsonOption = False) -> None:
    """Which API, key source and profile are in use, and who the API says you are."""
    conn = session.connection()
    with ApiClient(conn) as client:
        me: dict[str, Any] = client.get("/api/me")
    info = {"api_url": conn.api_url, "profile": conn.profile, "source": conn.source, **me}
    if as_json:
        print_json(info)
        return
    rows = [(k, info.get(k)) for k in ("api_url", "source", "workspace_id", "role", "publisher_id", "key_id")]
    print_table(None, ("", ""), rows)


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)
