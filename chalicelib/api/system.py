"""Health, readiness, the event catalog and the OpenAPI document."""

from __future__ import annotations

from chalice.app import Blueprint, Response
from pydantic import BaseModel

from chalicelib.api.openapi import openapi_document
from chalicelib.api.problems import problem
from chalicelib.api.routing import RequestContext, logger, route
from chalicelib.container import services
from chalicelib.domain.events import CATALOG_VERSION, HOST_EVENT_TYPES

bp = Blueprint(__name__)


class Health(BaseModel):
    """Liveness or readiness, with each dependency's state."""

    status: str
    checks: dict[str, str] = {}


class EventType(BaseModel):
    """One catalog entry."""

    type: str
    description: str


class EventCatalog(BaseModel):
    """The event types a workspace can subscribe to."""

    version: str
    types: list[EventType]
    plugin_defined: str


@route(bp, "/health", "GET", summary="Liveness", tag="System", response=Health, auth=False)
def health(r: RequestContext) -> Health:
    return Health(status="ok")


@route(
    bp,
    "/health/ready",
    "GET",
    summary="Readiness: every dependency reachable",
    tag="System",
    response=Health,
    auth=False,
)
def ready(r: RequestContext) -> Health | Response:
    checks: dict[str, str] = {}
    for name, check in services().adapters.readiness.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 — readiness reports any failure by name
            logger.warning("readiness check failed", extra={"check": name, "error": type(exc).__name__})
            checks[name] = "unavailable"
    if all(v == "ok" for v in checks.values()):
        return Health(status="ready", checks=checks)
    return problem(503, "not-ready", "Not ready", "Some dependencies are unavailable.", checks=checks)


@route(bp, "/api/events/catalog", "GET", summary="The catalog of event types", tag="Events", response=EventCatalog)
def catalog(r: RequestContext) -> EventCatalog:
    return EventCatalog(
        version=CATALOG_VERSION,
        types=[EventType(type=t, description=d) for t, d in HOST_EVENT_TYPES.items()],
        plugin_defined="plugin.<plugin_id>.<name>",
    )


@route(bp, "/api/openapi.json", "GET", summary="This OpenAPI document", tag="System", auth=False)
def openapi(r: RequestContext) -> dict[str, object]:
    return openapi_document()
