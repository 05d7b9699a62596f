"""Health, readiness, the event catalog and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response
from pydantic import BaseModel, Field

from chalicelib.api.openapi import openapi_document
from chalicelib.api.problems import problem
from chalicelib.api.routing import RequestContext, logger, route
from chalicelib.container import services
from chalicelib.domain.events import (
    ANY_OBJECT,
    CATALOG_VERSION,
    EVENT_SCHEMAS,
    HOOK_SCHEMAS,
    HOOK_TYPES,
    HOST_EVENT_TYPES,
    SOURCE_TRIGGER,
    SOURCE_WORKSPACE,
    TRIGGER_DATA_SCHEMA,
)
from chalicelib.domain.models import EventEnvelope

bp = Blueprint(__name__)


class Health(BaseModel):
    """Liveness or readiness, with each dependency's state."""

    status: str
    checks: dict[str, str] = {}


class EventType(BaseModel):
    """One catalog entry."""

    type: str
    description: str
    data_schema: dict[str, Any] = Field(default_factory=dict, description="JSON Schema (2020-12) of ``data``.")
    delivery: str = Field("async", description="async: bus → queues → subscribers; sync: inline hook with a budget.")


class EventFamily(BaseModel):
    """A family of types named by pattern (plugin-defined, workspace-published, trigger calls)."""

    pattern: str
    source: str
    description: str
    data_schema: dict[str, Any]


class EventCatalog(BaseModel):
    """The event types a workspace can subscribe to."""

    version: str
    types: list[EventType]
    plugin_defined: str
    envelope: dict[str, Any] = Field(default_factory=dict, description="JSON Schema of the envelope.")
    families: list[EventFamily] = Field(default_factory=list)


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
        types=[EventType(type=t, description=d, data_schema=EVENT_SCHEMAS[t]) for t, d in HOST_EVENT_TYPES.items()]
        + [
            EventType(type=t, description=d, data_schema=HOOK_SCHEMAS[t], delivery="sync")
            for t, d in HOOK_TYPES.items()
        ],
        plugin_defined="plugin.<plugin_id>.<name>",
        envelope=EventEnvelope.model_json_schema(),
        families=[
            EventFamily(
                pattern="plugin.<plugin_id>.<name>",
                source="plugyard.plugin.<plugin_id>",
                description="Emitted by a plugin (ctx.events.emit); any JSON object.",
                data_schema=ANY_OBJECT,
            ),
            EventFamily(
                pattern="plugin.<plugin_id>.trigger.<name>",
                source=SOURCE_TRIGGER,
                description="An inbound trigger call; delivered only to the installation that exposed the trigger.",
                data_schema=TRIGGER_DATA_SCHEMA,
            ),
            EventFamily(
                pattern="workspace.<name>[.<name>…]",
                source=SOURCE_WORKSPACE,
                description="Published by the workspace's own systems through POST /api/events (admin).",
                data_schema=ANY_OBJECT,
            ),
        ],
    )


@route(bp, "/api/openapi.json", "GET", summary="This OpenAPI document", tag="System", auth=False)
def openapi(r: RequestContext) -> dict[str, object]:
    return openapi_document()
