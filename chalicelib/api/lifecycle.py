"""Extension lifecycle routes: publisher keys, review, deprecation, upgrades, consent, rollback, state, config."""

from __future__ import annotations

from typing import Literal

from chalice.app import Blueprint
from pydantic import BaseModel, Field

from chalicelib.api.routing import RequestContext, route
from chalicelib.container import services
from chalicelib.domain.models import (
    DeprecateRequest,
    Installation,
    PluginVersion,
    PublisherKey,
    PublisherView,
    RegisterKeyRequest,
    ReviewDecision,
    ReviewQueue,
    SetStateRequest,
    UpdateConfigRequest,
    UpgradeRequest,
    VerifyPublisherRequest,
)

bp = Blueprint(__name__)


class ConsentRequest(BaseModel):
    """Consent to the scopes a pending upgrade asks for."""

    model_config = {"extra": "forbid"}

    grant: list[str] = Field(min_length=1, max_length=32)


class ReviewResult(BaseModel):
    """A version after a review decision."""

    plugin_id: str
    version: str
    state: str
    reviewed_by: str | None
    review_reason: str | None
    deployment: str | None = None
    deployment_reason: str | None = None


class CacheStatsView(BaseModel):
    """The marketplace metadata cache of this process."""

    hits: int
    misses: int
    hit_ratio: float


def _review_result(v: PluginVersion) -> ReviewResult:
    return ReviewResult(
        plugin_id=v.plugin_id,
        version=v.version,
        state=v.state,
        reviewed_by=v.reviewed_by,
        review_reason=v.review_reason,
        deployment=v.deployment,
        deployment_reason=v.deployment_reason,
    )


# --- publishers -------------------------------------------------------------------------


@route(
    bp,
    "/api/publisher/keys",
    "POST",
    summary="Register an Ed25519 signing key for the caller's publisher",
    tag="Publishers",
    status=201,
    body=RegisterKeyRequest,
    response=PublisherKey,
    errors=[403, 422],
)
def register_key(r: RequestContext) -> PublisherKey:
    return services().publishers.register_key(r.caller, r.body(RegisterKeyRequest))


@route(
    bp,
    "/api/publisher/keys/{key_id}",
    "DELETE",
    summary="Revoke a signing key",
    tag="Publishers",
    status=204,
    errors=[403, 404],
)
def revoke_key(r: RequestContext, key_id: str) -> None:
    services().publishers.revoke_key(r.caller, key_id)


@route(
    bp,
    "/api/publishers/{publisher_id}",
    "GET",
    summary="A publisher's public profile: verification and signing keys",
    tag="Publishers",
    response=PublisherView,
    errors=[404],
)
def get_publisher(r: RequestContext, publisher_id: str) -> PublisherView:
    return services().publishers.get(publisher_id)


@route(
    bp,
    "/api/publishers/{publisher_id}/verify",
    "POST",
    summary="Mark a publisher verified (reviewer)",
    tag="Review",
    body=VerifyPublisherRequest,
    response=PublisherView,
    errors=[403, 404],
)
def verify_publisher(r: RequestContext, publisher_id: str) -> PublisherView:
    return services().publishers.set_verified(r.caller, publisher_id, r.body(VerifyPublisherRequest).verified)


# --- review and deprecation -------------------------------------------------------------


@route(bp, "/api/review/queue", "GET", summary="Versions pending review (reviewer)", tag="Review", response=ReviewQueue)
def review_queue(r: RequestContext) -> ReviewQueue:
    return services().review.queue(r.caller)


def _decide(
    r: RequestContext, plugin_id: str, version: str, decision: Literal["approve", "reject", "yank"]
) -> ReviewResult:
    req = r.body(ReviewDecision) if (r.raw_body_present()) else ReviewDecision()
    return _review_result(services().marketplace.review(r.caller, plugin_id, version, decision, req))


@route(
    bp,
    "/api/review/{plugin_id}/{version}/approve",
    "POST",
    summary="Approve a pending version: listed and installable (reviewer; a failed scan must be acknowledged)",
    tag="Review",
    body=ReviewDecision,
    optional_body=True,
    response=ReviewResult,
    errors=[403, 404, 409, 422],
)
def approve(r: RequestContext, plugin_id: str, version: str) -> ReviewResult:
    return _decide(r, plugin_id, version, "approve")


@route(
    bp,
    "/api/review/{plugin_id}/{version}/reject",
    "POST",
    summary="Reject a pending version with a reason (reviewer)",
    tag="Review",
    body=ReviewDecision,
    optional_body=True,
    response=ReviewResult,
    errors=[403, 404, 409, 422],
)
def reject(r: RequestContext, plugin_id: str, version: str) -> ReviewResult:
    return _decide(r, plugin_id, version, "reject")


@route(
    bp,
    "/api/review/{plugin_id}/{version}/yank",
    "POST",
    summary="Yank an approved version: unlisted, and every installation on it is disabled (reviewer)",
    tag="Review",
    body=ReviewDecision,
    optional_body=True,
    response=ReviewResult,
    errors=[403, 404, 409, 422],
)
def yank(r: RequestContext, plugin_id: str, version: str) -> ReviewResult:
    return _decide(r, plugin_id, version, "yank")


@route(
    bp,
    "/api/plugins/{plugin_id}/deprecate",
    "POST",
    summary="Deprecate a whole plugin (its publisher)",
    tag="Marketplace",
    status=204,
    body=DeprecateRequest,
    errors=[403, 404],
)
def deprecate_plugin(r: RequestContext, plugin_id: str) -> None:
    services().marketplace.deprecate(r.caller, plugin_id, None, r.body(DeprecateRequest))


@route(
    bp,
    "/api/plugins/{plugin_id}/versions/{version}/deprecate",
    "POST",
    summary="Deprecate one version (its publisher)",
    tag="Marketplace",
    status=204,
    body=DeprecateRequest,
    errors=[403, 404],
)
def deprecate_version(r: RequestContext, plugin_id: str, version: str) -> None:
    services().marketplace.deprecate(r.caller, plugin_id, version, r.body(DeprecateRequest))


@route(
    bp,
    "/api/marketplace/cache",
    "GET",
    summary="Hit ratio of this process's marketplace metadata cache",
    tag="Marketplace",
    response=CacheStatsView,
)
def cache_stats(r: RequestContext) -> CacheStatsView:
    stats = services().marketplace.cache.stats
    return CacheStatsView(hits=stats.hits, misses=stats.misses, hit_ratio=round(stats.hit_ratio, 4))


# --- installation lifecycle -------------------------------------------------------------

_INSTALL_ERRORS = [403, 404, 409, 422]


@route(
    bp,
    "/api/installations/{installation_id}/upgrade",
    "POST",
    summary="Upgrade (new scopes need consent in `grant`, or `keep_grants` to run under the old grants)",
    tag="Installations",
    body=UpgradeRequest,
    response=Installation,
    errors=_INSTALL_ERRORS,
)
def upgrade(r: RequestContext, installation_id: str) -> Installation:
    return services().installs.upgrade(r.caller, installation_id, r.body(UpgradeRequest))


@route(
    bp,
    "/api/installations/{installation_id}/consent",
    "POST",
    summary="Grant the scopes a pending upgrade asks for and apply it",
    tag="Installations",
    body=ConsentRequest,
    response=Installation,
    errors=_INSTALL_ERRORS,
)
def consent(r: RequestContext, installation_id: str) -> Installation:
    return services().installs.consent(r.caller, installation_id, r.body(ConsentRequest).grant)


@route(
    bp,
    "/api/installations/{installation_id}/rollback",
    "POST",
    summary="Return to the version before the last upgrade",
    tag="Installations",
    response=Installation,
    errors=_INSTALL_ERRORS,
)
def rollback(r: RequestContext, installation_id: str) -> Installation:
    return services().installs.rollback(r.caller, installation_id)


@route(
    bp,
    "/api/installations/{installation_id}/enable",
    "POST",
    summary="Enable an installation",
    tag="Installations",
    response=Installation,
    errors=_INSTALL_ERRORS,
)
def enable(r: RequestContext, installation_id: str) -> Installation:
    return services().installs.set_enabled(r.caller, installation_id, True)


@route(
    bp,
    "/api/installations/{installation_id}/disable",
    "POST",
    summary="Disable an installation (optionally with a reason)",
    tag="Installations",
    body=SetStateRequest,
    optional_body=True,
    response=Installation,
    errors=_INSTALL_ERRORS,
)
def disable(r: RequestContext, installation_id: str) -> Installation:
    reason = r.body(SetStateRequest).reason if r.raw_body_present() else ""
    return services().installs.set_enabled(r.caller, installation_id, False, reason)


@route(
    bp,
    "/api/installations/{installation_id}/config",
    "PUT",
    summary="Replace the configuration (validated; secret fields stored encrypted and never returned)",
    tag="Installations",
    body=UpdateConfigRequest,
    response=Installation,
    errors=_INSTALL_ERRORS,
)
def update_config(r: RequestContext, installation_id: str) -> Installation:
    return services().installs.update_config(r.caller, installation_id, r.body(UpdateConfigRequest))
