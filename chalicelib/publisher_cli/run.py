"""``plugyard install``, ``uninstall``, ``invoke`` and ``logs``: put a plugin into the workspace (and take it out),
run it, read what it did."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.client import ApiClient
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, print_json, say

__all__ = ["register"]

_FOLLOW_MIN_S, _FOLLOW_MAX_S = 0.5, 8.0


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{what} is not valid JSON: {exc}", ExitCode.USAGE) from exc
    if not isinstance(value, dict):
        raise CliError(f"{what} must be a JSON object", ExitCode.USAGE)
    return value


def install(
    plugin_id: Annotated[str, typer.Argument(help="The plugin's id.")],
    version: Annotated[
        str | None, typer.Option(help="An exact version or a range ('^1.2'); default: the latest installable.")
    ] = None,
    grant: Annotated[
        list[str] | None, typer.Option("--grant", "-g", help="A scope to grant (repeat for each scope asked for).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="A JSON file with the installation's configuration.", exists=True)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Install a plugin into your workspace, granting the scopes it asks for."""
    body: dict[str, Any] = {"plugin_id": plugin_id, "grant": grant or []}
    if version is not None:
        body["version"] = version
    if config is not None:
        body["config"] = _json_object(config.read_text(), str(config))
    with session.api() as client:
        inst: dict[str, Any] = client.post("/api/plugins/install", body, idempotent=True)
    if as_json:
        print_json(inst)
        return
    granted = ", ".join(inst["granted"]) or "nothing"
    say(f"installed {inst['plugin_id']}@{inst['version']} ({inst['state']}) granting {granted}")
    typer.echo(inst["installation_id"])


def uninstall(
    installation_id: Annotated[str, typer.Argument(help="The installation's id (install and dev print it).")],
) -> None:
    """Uninstall: remove an installation (a development one too) and revoke its grants."""
    with session.api() as client:
        client.delete(f"/api/installations/{installation_id}")
    say(f"uninstalled {installation_id}")


def invoke(
    installation_id: Annotated[str, typer.Argument(help="The installation (see `plugyard install`).")],
    payload: Annotated[str, typer.Option(help="The event the handler receives, a JSON object.")] = "{}",
    entrypoint: Annotated[str | None, typer.Option(help="Entry point name; default 'main' or the first.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run an installation now and print its result; exit 5 when the plugin itself failed."""
    body: dict[str, Any] = {"payload": _json_object(payload, "--payload")}
    if entrypoint is not None:
        body["entrypoint"] = entrypoint
    with session.api() as client:
        run: dict[str, Any] = client.post(f"/api/installations/{installation_id}/invoke", body)
    if as_json:
        print_json(run)
    else:
        say(
            f"{run['status']} in {run['duration_ms']:.0f} ms (cpu {run['cpu_ms']:.0f} ms, "
            f"peak {run['peak_memory_mb']:.1f} MiB), invocation {run['invocation_id']}"
        )
        if run.get("error"):
            say(f"[red]{escape(json.dumps(run['error']))}[/red]")
        typer.echo(json.dumps(run.get("result"), indent=2, sort_keys=True))
    if run["status"] != "succeeded":
        raise typer.Exit(int(ExitCode.PLUGIN_FAILED))


def _page(client: ApiClient, installation_id: str, limit: int) -> list[dict[str, Any]]:
    page: dict[str, Any] = client.get(f"/api/installations/{installation_id}/invocations", limit=limit)
    return list(page.get("items", []))


def _show(inv: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(inv, sort_keys=True, default=str))  # one JSON object a line, for jq
        return
    error = f" {inv['error'].get('type', '')}: {inv['error'].get('message', '')}" if inv.get("error") else ""
    say(
        f"[bold]{inv['started_at']}[/bold] {inv['entrypoint']} ({inv['trigger']}) {inv['status']} "
        f"{inv['duration_ms']:.0f} ms {escape(error)}"
    )
    for line in (inv.get("log_excerpt") or "").rstrip("\n").splitlines():
        typer.echo(f"  {line}")


def logs(
    installation_id: Annotated[str, typer.Argument(help="The installation.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many recent invocations to show.")] = 10,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling for new invocations (Ctrl-C stops).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The installation's recorded invocations (oldest first) with their logs; --follow waits for new ones."""
    with session.api() as client:
        seen: set[str] = set()
        recent = _page(client, installation_id, limit)
        for inv in reversed(recent):
            if inv["status"] != "running":
                seen.add(inv["invocation_id"])
            _show(inv, as_json)
        if not follow:
            if not recent and not as_json:
                say("no invocations yet")
            return
        wait = _FOLLOW_MIN_S
        while True:
            time.sleep(wait)
            fresh = [
                inv
                for inv in reversed(_page(client, installation_id, 20))
                if inv["invocation_id"] not in seen and inv["status"] != "running"
            ]
            for inv in fresh:
                seen.add(inv["invocation_id"])
                _show(inv, as_json)
            # Poll fast while things happen, back off (up to 8 s) while nothing does.
            wait = _FOLLOW_MIN_S if fresh else min(wait * 2, _FOLLOW_MAX_S)


def register(app: typer.Typer) -> None:
    app.command()(install)
    app.command()(uninstall)
    app.command()(invoke)
    app.command()(logs)
