"""Publisher self-service, reviewer tools and analytics: the workspace's publisher, a version's review report, a
plugin's figures per version."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import RequestContext, route
from chalicelib.container import services
from chalicelib.domain.models import CreatePublisherRequest, PublisherView, VersionReport
from chalicelib.domain.models.review import PublisherPlugins
from chalicelib.domain.stats import PluginStats

bp = Blueprint(__name__)


@route(
    bp,
    "/api/publishers",
    "POST",
    summary="Create the caller's workspace's publisher identity (admin; one per workspace, ids unique)",
    tag="Publishers",
    status=201,
    body=CreatePublisherRequest,
    response=PublisherView,
    errors=[403, 409, 422],
)
def create_publisher(r: RequestContext) -> PublisherView:
    return services().publishers.create(r.caller, r.body(CreatePublisherRequest))


@route(
    bp,
    "/api/publisher",
    "GET",
    summary="The caller's workspace's publisher: verification and signing keys",
    tag="Publishers",
    response=PublisherView,
    errors=[404],
)
def my_publisher(r: RequestContext) -> PublisherView:
    return services().publishers.mine(r.caller)


@route(
    bp,
    "/api/publisher/plugins",
    "GET",
    summary="The caller's publisher's plugins, each with every version's review, scan and deployment state",
    tag="Publishers",
    response=PublisherPlugins,
    errors=[403, 404],
)
def my_plugins(r: RequestContext) -> PublisherPlugins:
    return services().review.publisher_plugins(r.caller)


@route(
    bp,
    "/api/plugins/{plugin_id}/versions/{version}/report",
    "GET",
    summary="A version's files, manifest, permission diff and upload scan report (reviewers and its publisher)",
    tag="Review",
    response=VersionReport,
    errors=[404],
)
def version_report(r: RequestContext, plugin_id: str, version: str) -> VersionReport:
    return services().review.report(r.caller, plugin_id, version)


@route(
    bp,
    "/api/plugins/{plugin_id}/stats",
    "GET",
    summary="Per-version installs, uninstalls, invocations, errors, p50/p99 duration of one of the caller's plugins",
    tag="Publishers",
    response=PluginStats,
    errors=[403, 404],
)
def plugin_stats(r: RequestContext, plugin_id: str) -> PluginStats:
    return services().stats.for_plugin(r.caller, plugin_id)
