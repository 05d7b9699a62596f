"""The web console: static ES modules served by the API itself from chalicelib/console/.

Serving the console from the API means `chalice package` ships it inside the API's own function, so every stage
gets the console of its own code, pointed at its own API (the page finds the API relative to its own URL), with
no bucket, distribution or build step. The folder is flat, each file read when asked for; every answer carries a
Content-Security-Policy that allows only this origin's scripts and styles (no inline script, no other host).
"""

from __future__ import annotations

from pathlib import Path

from chalice.app import Blueprint, Response

from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.errors import NotFoundError

__all__ = ["ASSETS", "CSP", "bp"]

bp = Blueprint(__name__)
TAG = "Console"
ASSETS = Path(__file__).resolve().parent.parent / "console"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidated each load, so a deploy is seen at once
}


def _serve(name: str) -> Response:
    """One file of the folder, read as it is now (so an edited file shows on the next reload)."""
    path = ASSETS / name
    # Only a plain file directly in the folder, of a known type, is ever answered (no "..", no sub-folders).
    if "/" in name or "\\" in name or name.startswith(".") or path.suffix not in _TYPES or not path.is_file():
        raise NotFoundError(f"The console has no file '{name[:80]}'.", asset=name[:80])
    text = path.read_text(encoding="utf-8")
    return Response(body=text, status_code=200, headers={**_HEADERS, "Content-Type": _TYPES[path.suffix]})


@route(
    bp,
    "/console",
    "GET",
    summary="The web console (HTML page)",
    tag=TAG,
    auth=False,
    media_type="text/html",
)
def console_page(r: RequestContext) -> Response:
    return _serve("index.html")


@route(
    bp,
    "/console/{asset}",
    "GET",
    summary="One of the web console's static files (ES modules, styles)",
    tag=TAG,
    auth=False,
    errors=[404],
    media_type="text/*",
)
def console_asset(r: RequestContext, asset: str) -> Response:
    return _serve(asset)
