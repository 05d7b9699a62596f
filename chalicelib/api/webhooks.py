"""Webhook endpoint routes: register (seed path), list, get, delete."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import PAGING, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.models import RegisterWebhookRequest, WebhookCreated, WebhookPage, WebhookView

bp = Blueprint(__name__)
TAG = "Webhooks"


@route(
    bp,
    "/api/webhooks/register",
    "POST",
    summary="Register a webhook endpoint; the signing secret is returned once",
    tag=TAG,
    status=201,
    body=RegisterWebhookRequest,
    response=WebhookCreated,
    errors=[400, 401, 403, 422],
)
def register(r: RequestContext) -> WebhookCreated:
    return services().webhooks.register(r.caller, r.body(RegisterWebhookRequest))


@route(bp, "/api/webhooks", "GET", summary="The workspace's webhooks", tag=TAG, response=WebhookPage, query=PAGING)
def list_webhooks(r: RequestContext) -> WebhookPage:
    return services().webhooks.list(r.caller, limit=r.limit(), token=r.query("next_token"))


@route(
    bp,
    "/api/webhooks/{webhook_id}",
    "GET",
    summary="One webhook (never its secret)",
    tag=TAG,
    response=WebhookView,
    errors=[401, 403, 404],
)
def get_webhook(r: RequestContext, webhook_id: str) -> WebhookView:
    return services().webhooks.get(r.caller, webhook_id)


@route(
    bp,
    "/api/webhooks/{webhook_id}",
    "DELETE",
    summary="Delete a webhook",
    tag=TAG,
    status=204,
    errors=[401, 403, 404],
)
def delete_webhook(r: RequestContext, webhook_id: str) -> None:
    services().webhooks.delete(r.caller, webhook_id)
