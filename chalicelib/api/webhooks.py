"""Webhook endpoint routes: register, list, get, update, delete; deliveries, redelivery, tests, rotation."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import PAGING, QueryParam, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.deliveries import DeliveryDetail, DeliveryPage, DeliveryView, RecoverRequest, RecoverResult
from chalicelib.domain.errors import InvalidRequestError
from chalicelib.domain.models import (
    RegisterWebhookRequest,
    SecretRotated,
    UpdateWebhookRequest,
    WebhookCreated,
    WebhookPage,
    WebhookView,
)

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
    return services().webhooks.list(r.caller, limit=r.limit(), token=r.page_token())


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


# --- endpoint actions -------------------------------------------------------------------------


@route(
    bp,
    "/api/webhooks/{webhook_id}",
    "PATCH",
    summary="Change a webhook's description or rate limit (messages per second; null removes it)",
    tag=TAG,
    body=UpdateWebhookRequest,
    response=WebhookView,
    errors=[400, 401, 403, 404, 422],
)
def update_webhook(r: RequestContext, webhook_id: str) -> WebhookView:
    return services().webhooks.update(r.caller, webhook_id, r.body(UpdateWebhookRequest))


@route(
    bp,
    "/api/webhooks/{webhook_id}/rotate-secret",
    "POST",
    summary="Issue a new signing secret (shown once); the old one keeps signing alongside it for 24 h",
    tag=TAG,
    response=SecretRotated,
    errors=[401, 403, 404],
)
def rotate_secret(r: RequestContext, webhook_id: str) -> SecretRotated:
    return services().webhooks.rotate_secret(r.caller, webhook_id)


@route(
    bp,
    "/api/webhooks/{webhook_id}/enable",
    "POST",
    summary="Re-enable a disabled webhook (failed deliveries stay failed; see recover)",
    tag=TAG,
    response=WebhookView,
    errors=[401, 403, 404],
)
def enable_webhook(r: RequestContext, webhook_id: str) -> WebhookView:
    return services().webhooks.enable(r.caller, webhook_id)


@route(
    bp,
    "/api/webhooks/{webhook_id}/disable",
    "POST",
    summary="Disable a webhook: nothing is sent to it until it is enabled (its events meanwhile end failed)",
    tag=TAG,
    response=WebhookView,
    errors=[401, 403, 404],
)
def disable_webhook(r: RequestContext, webhook_id: str) -> WebhookView:
    return services().webhooks.disable(r.caller, webhook_id)


@route(
    bp,
    "/api/webhooks/{webhook_id}/test",
    "POST",
    summary="Send a signed webhook.test ping now and return the attempt",
    tag=TAG,
    response=DeliveryDetail,
    errors=[401, 403, 404],
)
def test_webhook(r: RequestContext, webhook_id: str) -> DeliveryDetail:
    return services().deliveries.test(r.caller, webhook_id)


@route(
    bp,
    "/api/webhooks/{webhook_id}/recover",
    "POST",
    summary="Queue every failed delivery since a time again",
    tag=TAG,
    status=202,
    body=RecoverRequest,
    response=RecoverResult,
    errors=[400, 401, 403, 404, 422],
)
def recover_webhook(r: RequestContext, webhook_id: str) -> RecoverResult:
    return services().deliveries.recover(r.caller, webhook_id, r.body(RecoverRequest).since)


# --- deliveries -------------------------------------------------------------------------------

_STATUSES = ("pending", "delivered", "failed")


@route(
    bp,
    "/api/webhooks/{webhook_id}/deliveries",
    "GET",
    summary="A webhook's deliveries, newest first",
    tag=TAG,
    response=DeliveryPage,
    query=[
        *PAGING,
        QueryParam(
            "status",
            "Only deliveries in this state: pending, delivered or failed",
            schema={"enum": ["pending", "delivered", "failed"]},
        ),
    ],
    errors=[400, 401, 403, 404],
)
def list_deliveries(r: RequestContext, webhook_id: str) -> DeliveryPage:
    status = r.query("status") or None
    if status is not None and status not in _STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(_STATUSES)}.", status_filter=status)
    return services().deliveries.list(
        r.caller,
        webhook_id,
        status=status,  # type: ignore[arg-type]  # checked against _STATUSES above
        limit=r.limit(),
        token=r.page_token(),
    )


@route(
    bp,
    "/api/webhooks/{webhook_id}/deliveries/{delivery_id}",
    "GET",
    summary="One delivery with its payload and every attempt",
    tag=TAG,
    response=DeliveryDetail,
    errors=[401, 403, 404],
)
def get_delivery(r: RequestContext, webhook_id: str, delivery_id: str) -> DeliveryDetail:
    return services().deliveries.get(r.caller, webhook_id, delivery_id)


@route(
    bp,
    "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    "POST",
    summary="Queue a delivery again now",
    tag=TAG,
    status=202,
    response=DeliveryView,
    errors=[401, 403, 404, 409],
)
def redeliver(r: RequestContext, webhook_id: str, delivery_id: str) -> DeliveryView:
    return services().deliveries.redeliver(r.caller, webhook_id, delivery_id)
