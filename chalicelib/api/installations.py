"""Installation routes: install (seed path), list, get, the versions it can move to, decline an upgrade, uninstall."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import PAGING, RequestContext, route
from chalicelib.container import services
from chalicelib.domain.errors import InvalidRequestError
from chalicelib.domain.models import Installation, InstallationPage, InstallRequest, UpgradeOptions

bp = Blueprint(__name__)
TAG = "Installations"


@route(
    bp,
    "/api/plugins/install",
    "POST",
    summary="Install a plugin version into the caller's workspace, granting its scopes",
    tag=TAG,
    status=201,
    body=InstallRequest,
    response=Installation,
    headers=["Idempotency-Key"],
    errors=[400, 401, 403, 404, 409, 422],
)
def install(r: RequestContext) -> Installation:
    key = r.header("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidRequestError("Idempotency-Key must be 1–255 characters.")
    return services().installs.install(r.caller, r.body(InstallRequest), key)


@route(
    bp,
    "/api/installations",
    "GET",
    summary="The workspace's installations",
    tag=TAG,
    response=InstallationPage,
    query=PAGING,
    errors=[400, 401, 403],
)
def list_installations(r: RequestContext) -> InstallationPage:
    return services().installs.list(r.caller, limit=r.limit(), token=r.page_token())


@route(
    bp,
    "/api/installations/{installation_id}",
    "GET",
    summary="One installation",
    tag=TAG,
    response=Installation,
    errors=[401, 403, 404],
)
def get_installation(r: RequestContext, installation_id: str) -> Installation:
    return services().installs.get(r.caller, installation_id)


@route(
    bp,
    "/api/installations/{installation_id}/versions",
    "GET",
    summary="The version an installation runs, the newer ones it can upgrade to with what each adds and removes "
    "(scopes in plain words, hosts, events), and the version a rollback returns to",
    tag=TAG,
    response=UpgradeOptions,
    errors=[401, 403, 404],
)
def installation_versions(r: RequestContext, installation_id: str) -> UpgradeOptions:
    return services().installs.upgrade_options(r.caller, installation_id)


@route(
    bp,
    "/api/installations/{installation_id}/decline",
    "POST",
    summary="Decline the upgrade waiting for consent: keep the current version and grants",
    tag=TAG,
    response=Installation,
    errors=[401, 403, 404, 409],
)
def decline_upgrade(r: RequestContext, installation_id: str) -> Installation:
    return services().installs.decline(r.caller, installation_id)


@route(
    bp,
    "/api/installations/{installation_id}",
    "DELETE",
    summary="Uninstall: remove the installation and revoke its grants",
    tag=TAG,
    status=204,
    errors=[401, 403, 404],
)
def uninstall(r: RequestContext, installation_id: str) -> None:
    services().installs.uninstall(r.caller, installation_id)
