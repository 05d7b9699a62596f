"""Development installations: run an unpublished folder in the caller's workspace (``plugyard dev``)."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.api.routing import RequestContext, route
from chalicelib.container import services
from chalicelib.domain.errors import InvalidRequestError, UnsupportedMediaTypeError
from chalicelib.domain.models import DevInstallation

bp = Blueprint(__name__)
TAG = "Development"
ZIP = "application/zip"


@route(
    bp,
    "/api/dev/installations/{plugin_id}",
    "PUT",
    summary="Create or update the workspace's development installation of a plugin from its zip: the server's "
    "manifest and artifact checks, no signature, no review; every requested scope granted in this workspace "
    "only; the next invocation runs the new code. 403 (dev-installations-disabled) where the stage does not "
    "allow development installations",
    tag=TAG,
    response=DevInstallation,
    upload=ZIP,
    errors=[400, 401, 403, 409, 413, 415, 422],
)
def put_dev_installation(r: RequestContext, plugin_id: str) -> DevInstallation:
    media = (r.header("content-type") or "").split(";", 1)[0].strip().lower()
    if media not in (ZIP, "application/octet-stream"):
        raise UnsupportedMediaTypeError(
            f"Send the plugin zip as {ZIP}, not '{media or 'no Content-Type'}'.", accepted=[ZIP]
        )
    data = r.raw_body()
    if not data:
        raise InvalidRequestError("The body must be the plugin's zip.")
    return services().dev_installs.upload(r.caller, plugin_id, data)
