"""``plugyard listen --forward-to URL``: the workspace's webhook events delivered to a local URL, no public endpoint.

As ``stripe listen`` does: the API holds a listen session with its own ``whsec_`` secret (printed once), the CLI
long-polls it for deliveries signed exactly as webhook deliveries are (Standard Webhooks), and POSTs each body
with its headers, unchanged, to the URL, printing the answer's status. The session ends with Ctrl-C, or
expires a minute after the CLI stops polling.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.client import ApiClient, ApiError
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, say

__all__ = ["forward", "register"]

WAIT_S = 10  # each long poll waits this long for a delivery (the session lives 60 s after a poll)


def forward(client: httpx.Client, url: str, delivery: dict[str, Any]) -> tuple[int | None, float, str | None]:
    """POST one delivery's body with its headers to ``url``: (status or None, milliseconds, error)."""
    started = time.perf_counter()
    try:
        resp = client.post(url, content=delivery["body"].encode(), headers=delivery["headers"])
    except httpx.HTTPError as exc:
        return None, (time.perf_counter() - started) * 1000, str(exc) or type(exc).__name__
    return resp.status_code, (time.perf_counter() - started) * 1000, None


def listen(
    forward_to: Annotated[
        str,
        typer.Option(
            "--forward-to", "-f", help="The local URL each event is POSTed to, e.g. http://localhost:3000/hooks."
        ),
    ],
    events: Annotated[
        list[str] | None,
        typer.Option("--events", "-e", help="Event types or patterns (task.*) to receive; repeat it. Default: all."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Receive the workspace's events on a local URL, signed as webhook deliveries are; Ctrl-C stops.

    Verify them with the printed whsec_ secret exactly as you will verify real webhook deliveries.
    """
    if not forward_to.startswith(("http://", "https://")):
        raise CliError("--forward-to takes an http(s) URL, e.g. http://localhost:3000/hooks", ExitCode.USAGE)
    types = [t for item in events or [] for t in item.split(",") if t.strip()]
    with ApiClient(session.connection(), timeout=WAIT_S + 20) as api, httpx.Client(timeout=30) as local:
        created = api.post("/api/listen/sessions", {"types": types})
        session_id = created["session_id"]
        if as_json:
            typer.echo(json.dumps({"event": "ready", "session_id": session_id, "secret": created["secret"]}))
        else:
            say(f"Ready! Your webhook signing secret is [bold]{created['secret']}[/bold] (shown once)")
            say(f"forwarding {escape(', '.join(types) or 'every event')} to {escape(forward_to)} — Ctrl-C to stop")
        try:
            while True:
                batch = api.get(created["poll"], wait=WAIT_S)
                for delivery in batch["deliveries"]:
                    status, ms, error = forward(local, forward_to, delivery)
                    _report(delivery, status, ms, error, as_json)
        except KeyboardInterrupt:
            pass
        finally:
            # If this fails the session expires by itself a minute after the last poll.
            with contextlib.suppress(ApiError, CliError):
                api.delete(f"/api/listen/sessions/{session_id}")
    say("stopped; the listen session is closed")


def _report(delivery: dict[str, Any], status: int | None, ms: float, error: str | None, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "event": "forwarded",
                    "id": delivery["delivery_id"],
                    "type": delivery["event_type"],
                    "status": status,
                    "ms": round(ms, 1),
                    "error": error,
                }
            )
        )
        return
    at = datetime.now().strftime("%H:%M:%S")
    say(f"{at}  --> {escape(delivery['event_type'])} [{escape(delivery['delivery_id'])}]")
    if status is None:
        say(f"{at}  <-- [red]failed[/red] {escape(error or '')}")
    else:
        colour = "green" if 200 <= status < 300 else "red"
        say(f"{at}  <-- [{colour}]{status}[/{colour}] POST in {ms:.0f} ms")


def register(app: typer.Typer) -> None:
    app.command("listen")(listen)
