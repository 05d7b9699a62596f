"""Live events over WebSocket: the $connect, $default and $disconnect handlers (registered by app.py).

On AWS these are the Lambda handlers of chalice's WebSocket API; under ``make run`` the local websocket
server (chalicelib/local/live.py) builds the same API Gateway events and calls the same handlers.

Authentication happens at connect, with a single-use ticket in the query string (``?ticket=lvt_…``, from
``POST /api/live/tickets``, the one route of this module's blueprint: browsers cannot set headers on a WebSocket,
and an API key must never travel in a URL) or, for other clients, an ``Authorization: Bearer`` header.
A refused connect answers 401/403/422 and API Gateway (or the local server) rejects the handshake.
"""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools import Logger
from chalice.app import Blueprint, Chalice, WebsocketEvent

from chalicelib.api.problems import problem, problem_from_error
from chalicelib.api.routing import RequestContext, route
from chalicelib.container import services
from chalicelib.domain.errors import PlugyardError
from chalicelib.domain.live import LiveTicketIssued

__all__ = [
    "bp",
    "handle_connect",
    "handle_disconnect",
    "handle_message",
    "live_connect",
    "live_disconnect",
    "live_message",
    "register",
]

logger = Logger(service="plugyard", child=True)
OK: dict[str, Any] = {"statusCode": 200}
bp = Blueprint(__name__)


@route(
    bp,
    "/api/live/tickets",
    "POST",
    summary="A single-use ticket (30 s) to open the workspace's live WebSocket, and that socket's URL: "
    "connect to `url` with `?ticket=<ticket>` (browsers cannot send the key as a header on a WebSocket)",
    tag="Events",
    status=201,
    response=LiveTicketIssued,
    errors=[401, 403, 409],
)
def issue_ticket(r: RequestContext) -> LiveTicketIssued:
    return services().live.issue_ticket(r.caller)


def _key(event: dict[str, Any]) -> str | None:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    scheme, _, key = headers.get("authorization", "").partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def _rejected(exc: PlugyardError, request_id: str) -> dict[str, Any]:
    return problem_from_error(exc, instance="/live", request_id=request_id).to_dict()


def handle_connect(event: dict[str, Any]) -> dict[str, Any]:
    """$connect: authenticate the key, check the filter, record the connection; non-2xx refuses the handshake."""
    ctx = event.get("requestContext") or {}
    request_id = str(ctx.get("requestId") or uuid.uuid4())
    query = event.get("queryStringParameters") or {}
    try:
        ticket = query.get("ticket")
        conn = services().live.connect(
            str(ctx["connectionId"]),
            key=None if ticket is not None else _key(event),
            ticket=None if ticket is None else str(ticket),
            types=query.get("types"),
        )
    except PlugyardError as exc:
        logger.info("live connect refused", extra={"code": exc.code, "request_id": request_id})
        return _rejected(exc, request_id)
    except Exception:
        logger.exception("live connect failed", extra={"request_id": request_id})
        detail = "Something went wrong on our side; the request id identifies it in our logs."
        return problem(
            500, "internal-error", "Internal error", detail, instance="/live", request_id=request_id
        ).to_dict()
    logger.info("live connected", extra={"workspace_id": conn.workspace_id, "connection_id": conn.connection_id})
    return OK


def handle_message(event: dict[str, Any]) -> dict[str, Any]:
    """$default: a client message (``ping``, ``subscribe``), answered on the socket."""
    ctx = event.get("requestContext") or {}
    services().live.message(str(ctx["connectionId"]), str(event.get("body") or ""))
    return OK


def handle_disconnect(event: dict[str, Any]) -> dict[str, Any]:
    """$disconnect: forget the connection."""
    ctx = event.get("requestContext") or {}
    services().live.disconnect(str(ctx["connectionId"]))
    return OK


def live_connect(event: WebsocketEvent) -> dict[str, Any]:
    """Lambda handler of $connect."""
    return handle_connect(event.to_dict())


def live_message(event: WebsocketEvent) -> dict[str, Any]:
    """Lambda handler of $default."""
    return handle_message(event.to_dict())


def live_disconnect(event: WebsocketEvent) -> dict[str, Any]:
    """Lambda handler of $disconnect."""
    return handle_disconnect(event.to_dict())


def register(app: Chalice) -> tuple[Any, Any, Any]:
    """Register the WebSocket handlers; app.py binds them to their names (Lambda resolves ``app.<name>``)."""
    app.experimental_feature_flags.update(["WEBSOCKETS"])
    return (
        app.on_ws_connect(name="live_connect")(live_connect),
        app.on_ws_message(name="live_message")(live_message),
        app.on_ws_disconnect(name="live_disconnect")(live_disconnect),
    )
