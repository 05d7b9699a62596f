"""Workspace administration routes: API keys, audit log, who am I."""

from __future__ import annotations

from chalice.app import Blueprint
from pydantic import BaseModel

from chalicelib.api.routing import PAGING, QueryParam, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.models import (
    ApiKeyCreated,
    ApiKeyView,
    AuditPage,
    AuditVerification,
    Caller,
    CreateApiKeyRequest,
)

bp = Blueprint(__name__)


class ApiKeyList(BaseModel):
    """The workspace's API keys (never the keys themselves)."""

    items: list[ApiKeyView]


@route(
    bp, "/api/me", "GET", summary="The caller: workspace, role, key id, publisher id", tag="Workspace", response=Caller
)
def me(r: RequestContext) -> Caller:
    return r.caller.model_copy(update={"publisher_id": services().publishers.publisher_of(r.caller)})


@route(
    bp,
    "/api/keys",
    "POST",
    summary="Create an API key in the caller's workspace (admin); the key is returned once",
    tag="Workspace",
    status=201,
    body=CreateApiKeyRequest,
    response=ApiKeyCreated,
    errors=[400, 401, 403, 422],
)
def create_key(r: RequestContext) -> ApiKeyCreated:
    return services().auth.create_key(r.caller, r.body(CreateApiKeyRequest))


@route(bp, "/api/keys", "GET", summary="The workspace's API keys (admin)", tag="Workspace", response=ApiKeyList)
def list_keys(r: RequestContext) -> ApiKeyList:
    return ApiKeyList(items=services().auth.list_keys(r.caller))


@route(
    bp, "/api/keys/{key_id}", "DELETE", summary="Revoke an API key (admin)", tag="Workspace", status=204, errors=[404]
)
def revoke_key(r: RequestContext, key_id: str) -> None:
    services().auth.revoke_key(r.caller, key_id)


@route(
    bp,
    "/api/audit",
    "GET",
    summary="The workspace's audit log, newest first (admin, reviewer)",
    tag="Audit",
    response=AuditPage,
    query=[
        QueryParam("action", "Only this action, e.g. plugin.install"),
        QueryParam("actor", "Only this actor, e.g. key:01J…"),
        QueryParam("target", "Only this target id"),
        QueryParam("since", "Only records at or after this ISO-8601 time", schema={"format": "date-time"}),
        QueryParam("until", "Only records at or before this ISO-8601 time", schema={"format": "date-time"}),
        *PAGING,
    ],
    errors=[400, 401, 403],
)
def audit(r: RequestContext) -> AuditPage:
    return services().audit.list(
        r.caller,
        action=r.query("action"),
        actor=r.query("actor"),
        target=r.query("target"),
        since=r.query_time("since"),
        until=r.query_time("until"),
        limit=r.limit(),
        token=r.page_token(),
    )


@route(
    bp,
    "/api/audit/verify",
    "GET",
    summary="Walk the workspace's keyed audit chain up to its head and report the first modified or missing record",
    tag="Audit",
    response=AuditVerification,
    query=[QueryParam("next_token", "Continue a verification that stopped early (complete = false)")],
    errors=[400, 401, 403],
)
def verify_audit(r: RequestContext) -> AuditVerification:
    return services().audit.verify(r.caller, token=r.page_token())
