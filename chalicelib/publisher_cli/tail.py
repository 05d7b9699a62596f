"""``plugyard events tail``: the workspace's events as they happen, over the live WebSocket (docs/events.md).

The socket is the one browsers use (chalicelib/api/live.py), found the way the console finds it: the API
answers ``POST /api/live/tickets`` with the socket's URL and a single-use ticket, so nothing guesses a port and
the key never goes into a URL. ``--live-url`` (PLUGYARD_LIVE_URL) names a socket instead, opened with the key
as an ``Authorization`` header. ``types`` filters by pattern. Delivery is best effort: what happens while the
socket is down is not replayed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from rich.markup import escape

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, say

__all__ = ["live_target", "register"]

events = typer.Typer(help="The workspace's events.", no_args_is_help=True)


def live_target(explicit: str | None, api_key: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL, query, headers) to open: --live-url / PLUGYARD_LIVE_URL with the key as a header, else the socket
    the API names with a single-use ticket (POST /api/live/tickets)."""
    url = explicit or session.env().get("PLUGYARD_LIVE_URL")
    if url:
        return url, {}, {"Authorization": f"Bearer {api_key}"}
    with session.api() as api:
        issued = api.post("/api/live/tickets")
    return str(issued["url"]), {"ticket": str(issued["ticket"])}, {}


@events.command("tail")
def tail(
    types: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="An event type or pattern (task.*) to show; repeat it. Default: all."),
    ] = None,
    live: Annotated[
        str | None,
        typer.Option(
            "--live-url",
            help="A live WebSocket URL (default PLUGYARD_LIVE_URL; unset: the one the API names with a ticket).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the workspace's events as they happen (--json: one envelope per line); Ctrl-C stops."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    conn = session.connection()
    patterns = [t.strip() for item in types or [] for t in item.split(",") if t.strip()]
    url, params, headers = live_target(live, conn.api_key)
    query = urlencode({**params, **({"types": ",".join(patterns)} if patterns else {})})
    target = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
    try:
        socket = connect(target, additional_headers=headers, open_timeout=10)
    except InvalidStatus as exc:
        raise _refused(exc) from exc
    except (OSError, TimeoutError) as exc:
        raise CliError(
            f"cannot reach the live WebSocket at {url}: {exc} (is the stack running?)", ExitCode.UNREACHABLE
        ) from exc
    say(f"tailing {escape(', '.join(patterns) or 'every event')} — Ctrl-C to stop")
    try:
        with socket:
            for frame in socket:
                _show(frame if isinstance(frame, str) else frame.decode(), as_json)
    except KeyboardInterrupt:
        pass
    except ConnectionClosed as exc:
        raise CliError(f"the live WebSocket closed: {exc}", ExitCode.UNREACHABLE) from exc
    say("stopped")


def _refused(exc: Any) -> CliError:
    status = exc.response.status_code
    try:
        problem = json.loads(exc.response.body or b"{}")
    except ValueError:
        problem = {}
    detail = problem.get("detail") or problem.get("title") or f"HTTP {status}"
    code = ExitCode.API_REFUSED if status < 500 else ExitCode.UNREACHABLE
    return CliError(f"the live WebSocket refused the connection: {detail} ({status})", code)


def _show(frame: str, as_json: bool) -> None:
    try:
        event = json.loads(frame)
    except ValueError:
        return
    if not isinstance(event, dict) or str(event.get("type", "")).startswith("live."):
        return  # the socket's own replies (pong, subscribed), not events
    if as_json:
        typer.echo(json.dumps(event, separators=(",", ":")))
        return
    at = str(event.get("time", ""))[11:19] or datetime.now().strftime("%H:%M:%S")
    data = json.dumps(event.get("data", {}), separators=(",", ":"), default=str)
    typer.echo(f"{at}  {event.get('type')}  {event.get('id')}  {data[:200]}")


def register(app: typer.Typer) -> None:
    app.add_typer(events, name="events")
