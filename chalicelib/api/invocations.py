"""Plugin execution routes: invoke an installation, list its invocations, and the broker for plugins on Lambda."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.problems import problem, status_of
from chalicelib.api.routing import PAGING, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.errors import PlugyardError, UnauthenticatedError
from chalicelib.domain.execution import CapabilityDenied
from chalicelib.domain.invocations import InvocationPage, InvocationResult, InvokeRequest

bp = Blueprint(__name__)
TAG = "Execution"


class CapabilityCall(BaseModel):
    """What the SDK on Lambda posts: the capability's arguments (``name`` repeats the path, if sent)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=80)
    args: dict[str, Any] = Field(default_factory=dict)


class CapabilityReply(BaseModel):
    """``{"ok": true, "result"}`` or ``{"ok": false, "error": {"type", "message"}}``."""

    ok: bool
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None


@route(
    bp,
    "/api/installations/{installation_id}/invoke",
    "POST",
    summary="Run an entry point of an installation now; a plugin failure is a recorded status, not an error",
    tag=TAG,
    body=InvokeRequest,
    response=InvocationResult,
    errors=[400, 401, 403, 404, 409, 413, 422, 429],
)
def invoke(r: RequestContext, installation_id: str) -> InvocationResult:
    return services().invocations.invoke(r.caller, installation_id, r.body(InvokeRequest))


@route(
    bp,
    "/api/installations/{installation_id}/invocations",
    "GET",
    summary="The installation's recorded invocations, newest first",
    tag=TAG,
    response=InvocationPage,
    query=PAGING,
    errors=[400, 401, 403, 404],
)
def list_invocations(r: RequestContext, installation_id: str) -> InvocationPage:
    return services().invocations.list(r.caller, installation_id, limit=r.limit(), token=r.page_token())


def _capability(r: RequestContext, capability: str) -> Response:
    auth = r.header("authorization") or ""
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    call = r.body(CapabilityCall)
    if call.name is not None and call.name != capability:
        return _refusal(400, "invalid-request", "The request is malformed", "InvalidRequest", "name ≠ path")
    try:
        result = services().invocations.serve_capability(token, capability, call.args)
    except CapabilityDenied as exc:
        return _refusal(403, "capability-denied", "Capability denied", "PermissionDenied", exc.message)
    except UnauthenticatedError:
        raise  # a 401 problem: forged, expired or misapplied token
    except PlugyardError as exc:
        if status_of(exc) == 429:
            raise  # a 429 problem with Retry-After
        status = status_of(exc) if status_of(exc) < 500 else 503
        return _refusal(status, exc.code, exc.title, type(exc).__name__, exc.detail)
    body = json.dumps(CapabilityReply(ok=True, result=result).model_dump(exclude_none=True), default=str)
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json"})


def _refusal(status: int, code: str, title: str, error_type: str, message: str) -> Response:
    """An RFC 7807 problem that is also the SDK's ``{"ok": false, "error"}`` verdict."""
    return problem(status, code, title, message, ok=False, error={"type": error_type, "message": message})


@route(
    bp,
    "/api/broker/{capability}",
    "POST",
    summary="Capability broker for plugins on Lambda (auth: the invocation's capability token, not an API key)",
    tag=TAG,
    body=CapabilityCall,
    response=CapabilityReply,
    auth=False,
    errors=[400, 401, 403, 422, 429],
)
def broker_call(r: RequestContext, capability: str) -> Response:
    return _capability(r, capability)


@route(
    bp,
    "/api/broker/capabilities/{capability}",
    "POST",
    summary="Same as /api/broker/{capability}: the path plugyard_runtime.HttpTransport posts to",
    tag=TAG,
    body=CapabilityCall,
    response=CapabilityReply,
    auth=False,
    errors=[400, 401, 403, 422, 429],
)
def broker_call_sdk_path(r: RequestContext, capability: str) -> Response:
    return _capability(r, capability)
