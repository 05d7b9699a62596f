"""Listen sessions: the workspace's events, signed as webhook deliveries, for a CLI to forward (``plugyard listen``)."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import QueryParam, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.errors import InvalidRequestError
from chalicelib.domain.listen import MAX_WAIT_S, ListenBatch, ListenSessionCreated, OpenListenRequest

bp = Blueprint(__name__)
TAG = "Listen"


@route(
    bp,
    "/api/listen/sessions",
    "POST",
    summary="Open a listen session: the workspace's events (filtered by type patterns) signed as webhook "
    "deliveries with the session's own whsec_ secret, shown once; it expires 60 s after its last poll",
    tag=TAG,
    status=201,
    body=OpenListenRequest,
    response=ListenSessionCreated,
    errors=[400, 401, 403, 422],
)
def open_session(r: RequestContext) -> ListenSessionCreated:
    return services().listen.open(r.caller, r.body(OpenListenRequest))


@route(
    bp,
    "/api/listen/sessions/{session_id}/deliveries",
    "GET",
    summary="Long-poll a listen session: the deliveries buffered since the last poll, each with the headers and "
    "body to forward unchanged (waits up to `wait` seconds for one); polling keeps the session alive",
    tag=TAG,
    response=ListenBatch,
    query=[
        QueryParam(
            "wait",
            f"Seconds to wait for a delivery, 0–{MAX_WAIT_S} (default 0)",
            "integer",
            {"minimum": 0, "maximum": MAX_WAIT_S},
        )
    ],
    errors=[400, 401, 403, 404],
)
def poll(r: RequestContext, session_id: str) -> ListenBatch:
    wait = r.query_int("wait", 0)
    if not 0 <= wait <= MAX_WAIT_S:
        raise InvalidRequestError(f"wait must be between 0 and {MAX_WAIT_S} seconds.", wait=wait)
    return services().listen.poll(r.caller, session_id, wait)


@route(
    bp,
    "/api/listen/sessions/{session_id}",
    "DELETE",
    summary="Close a listen session now",
    tag=TAG,
    status=204,
    errors=[401, 403, 404],
)
def close_session(r: RequestContext, session_id: str) -> None:
    services().listen.close(r.caller, session_id)
