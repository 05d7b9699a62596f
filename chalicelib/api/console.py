"""The web console: static ES modules served by the API itself from chalicelib/console/.

Serving the console from the API means `chalice package` ships it inside the API's own function, so every stage
gets the console of its own code, pointed at its own API (the page finds the API relative to its own URL), with
no bucket, distribution or build step. The folder is flat, each file read when asked for; every answer carries a
Content-Security-Policy that allows only this origin's scripts and styles (no inline script, no other host), and
connections to this origin, to the stage's live WebSocket API (Settings.live_public_url) and to the artifact bucket
(a publisher's zip goes from the browser straight to its presigned upload URL; the bucket is named exactly, from
the configured artifact store) only.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from chalice.app import Blueprint, Response

from chalicelib.api.routing import RequestContext, route
from chalicelib.container import services, settings
from chalicelib.domain.errors import NotFoundError

__all__ = ["ASSETS", "bp", "content_security_policy", "live_origin"]

bp = Blueprint(__name__)
TAG = "Console"
ASSETS = Path(__file__).resolve().parent.parent / "console"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def live_origin(live_public_url: str | None) -> str | None:
    """``ws://127.0.0.1:8001`` of ``ws://127.0.0.1:8001/``: the one origin besides its own the console may reach."""
    if not live_public_url:
        return None
    parts = urlsplit(live_public_url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(live_public_url: str | None, upload_prefix: str | None = None) -> str:
    """This origin's scripts and styles only; connections to this origin, the live WebSocket API and the
    artifact bucket's URL prefix (a path-prefix source: that bucket, not all of S3)."""
    if upload_prefix is not None and (
        any(c in upload_prefix for c in " ;,*'\"") or not upload_prefix.startswith(("https://", "http://"))
    ):
        raise ValueError(f"not a URL a policy can name exactly: {upload_prefix!r}")
    connect = " ".join(filter(None, ["'self'", live_origin(live_public_url), upload_prefix]))
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connect}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


_HEADERS = {
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
    headers: dict[str, str | list[str]] = {
        **_HEADERS,
        "Content-Security-Policy": content_security_policy(
            settings().live_public_url, services().adapters.artifacts.upload_prefix()
        ),
        "Content-Type": _TYPES[path.suffix],
    }
    return Response(body=text, status_code=200, headers=headers)


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
