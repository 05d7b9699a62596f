"""``plugyard events tail``: the workspace's events as they happen, over the live WebSocket (docs/events.md).

The socket is the one browsers use (chalicelib/api/live.py): the key authenticates the handshake (as an
``Authorization`` header, so it stays out of the URL), ``types`` filters by pattern. Delivery is best effort:
what happens while the socket is down is not replayed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import typer
from rich.markup import escape

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, say

__all__ = ["live_url", "register"]

MAKE_RUN_LIVE_PORT = 8001  # make run's default PLUGYARD_LIVE_PORT, beside the API on 8000

events = typer.Typer(help="The workspace's events.", no_args_is_help=True)


def live_url(explicit: str | None, api_url: str) -> str:
    """The WebSocket to connect to: --live-url / PLUGYARD_LIVE_URL, else make run's beside a loopback API."""
    url = explicit or session.env().get("PLUGYARD_LIVE_URL")
    if url:
        return url
    host = urlsplit(api_url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        return f"ws://{host}:{MAKE_RUN_LIVE_PORT}/"
    raise CliError(
        "where is the live WebSocket? Set PLUGYARD_LIVE_URL (or --live-url) to the stack's "
        "WebsocketConnectEndpointURL output (wss://…/api)",
        ExitCode.USAGE,
    )


@events.command("tail")
def tail(
    types: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="An event type or pattern (task.*) to show; repeat it. Default: all."),
    ] = None,
    live: Annotated[
        str | None,
        typer.Option(
            "--live-url", help="The live WebSocket URL (default PLUGYARD_LIVE_URL; make run's: ws://127.0.0.1:8001)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the workspace's events as they happen (--json: one envelope per line); Ctrl-C stops."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    conn = session.connection()
    patterns = [t.strip() for item in types or [] for t in item.split(",") if t.strip()]
    url = live_url(live, conn.api_url)
    query = urlencode({"types": ",".join(patterns)}) if patterns else ""
    target = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
    try:
        socket = connect(target, additional_headers={"Authorization": f"Bearer {conn.api_key}"}, open_timeout=10)
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
