"""Marketplace routes: publish (upload → submit), list, detail."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import QueryParam, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.models import PluginDetail, PluginPage, SubmitVersionRequest, UploadTicket

bp = Blueprint(__name__)
TAG = "Marketplace"


@route(
    bp,
    "/api/plugins/list",
    "GET",
    summary="List plugins in the marketplace",
    tag=TAG,
    response=PluginPage,
    query=[
        QueryParam("query", "Text to search in id, name, description and publisher"),
        QueryParam("category", "Only plugins in this category"),
        QueryParam("sort", "name (default), installs or recent", schema={"enum": ["name", "installs", "recent"]}),
        QueryParam("limit", "Page size, 1–100 (default 20)", "integer", {"minimum": 1, "maximum": 100}),
        QueryParam("next_token", "The next_token of the previous page"),
    ],
    errors=[400, 401],
)
def list_plugins(r: RequestContext) -> PluginPage:
    return services().marketplace.list_plugins(
        r.caller,
        query=r.query("query"),
        category=r.query("category"),
        limit=r.query_int("limit", 20),
        token=r.page_token(),
        sort=r.query("sort") or "name",
    )


@route(
    bp,
    "/api/plugins/{plugin_id}",
    "GET",
    summary="A plugin with all its versions",
    tag=TAG,
    response=PluginDetail,
    errors=[401, 404],
)
def get_plugin(r: RequestContext, plugin_id: str) -> PluginDetail:
    return services().marketplace.get_plugin(r.caller, plugin_id)


@route(
    bp,
    "/api/plugins/uploads",
    "POST",
    summary="Request a presigned URL to upload a plugin zip",
    tag=TAG,
    status=201,
    response=UploadTicket,
    errors=[401, 403],
)
def request_upload(r: RequestContext) -> UploadTicket:
    return services().marketplace.request_upload(r.caller)


@route(
    bp,
    "/api/plugins/versions",
    "POST",
    summary="Publish the uploaded zip as a new plugin version",
    tag=TAG,
    status=201,
    body=SubmitVersionRequest,
    response=PluginDetail,
    errors=[400, 401, 403, 404, 409, 422],
)
def submit_version(r: RequestContext) -> PluginDetail:
    return services().marketplace.submit_version(r.caller, r.body(SubmitVersionRequest))
