"""Serve the Chalice app through chalice's LocalGateway under waitress (a production WSGI server).

``chalice local`` is a thread-per-request http.server with a listen backlog of 5 that stalls ~44 ms on
keep-alive connections; waitress keeps API Gateway semantics (the same LocalGateway turns each request
into the API Gateway proxy event) without those costs. See bench/api_latency.py for both measured.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

from chalicelib.api.problems import problem

__all__ = ["GatewayApp", "main"]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class GatewayApp:
    """WSGI application: HTTP request → API Gateway proxy event → Chalice app → HTTP response."""

    def __init__(self, app: Any, *, stage: str = "dev", max_body_bytes: int = 1024 * 1024) -> None:
        config = Config.create(chalice_stage=stage, app_name="plugyard", lambda_timeout=60, lambda_memory_size=512)
        self._gateway = LocalGateway(app, config)
        self._max_body = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO") or "/"
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self._max_body:
            return self._send(
                start_response,
                self._problem(
                    413,
                    "payload-too-large",
                    "The request body is too large",
                    f"The body is {length} bytes; the limit is {self._max_body}.",
                ),
            )
        body = environ["wsgi.input"].read(length) if length else None
        if body is not None:
            headers["content-length"] = str(len(body))
        try:
            response = self._gateway.handle_request(method=method, path=path, headers=headers, body=body)
        except LocalGatewayException as exc:
            # No route matched: API Gateway would answer 403 "Missing Authentication Token".
            response = self._problem(
                404, "route-not-found", "No such route", f"No route matches {method} {environ.get('PATH_INFO')}."
            )
            if exc.CODE not in (403,):
                response = self._problem(exc.CODE, "gateway-error", "Gateway error", "The request was refused.")
        return self._send(start_response, response)

    @staticmethod
    def _problem(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
        return problem(status, code, title, detail).to_dict()

    @staticmethod
    def _send(start_response: StartResponse, response: dict[str, Any]) -> Iterable[bytes]:
        status = int(response["statusCode"])
        out: list[tuple[str, str]] = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
        for k, values in (response.get("multiValueHeaders") or {}).items():
            out.extend((k, str(v)) for v in values)
        raw = response.get("body") or b""
        if response.get("isBase64Encoded"):
            data = base64.b64decode(raw)
        else:
            data = raw.encode() if isinstance(raw, str) else bytes(raw)
        out = [(k, v) for k, v in out if k.lower() != "content-length"] + [("Content-Length", str(len(data)))]
        start_response(f"{status} {_REASONS.get(status, 'Status')}", out)
        return [data]


def main(argv: list[str] | None = None) -> None:
    """Run the API: ``python -m chalicelib.local.gateway --port 8000``."""
    import sys

    import waitress

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PLUGYARD_PORT", "8000")))
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, root)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    from app import app  # the project's Chalice app
    from chalicelib.container import settings as process_settings

    settings = process_settings()  # the one read of this process, shared with its services
    # Oversize bodies are refused before they are read; the route layer checks JSON bodies again.
    wsgi = GatewayApp(app, stage=settings.stage, max_body_bytes=max(settings.max_body_bytes, 1024 * 1024))
    waitress.serve(
        wsgi,
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="plugyard",
        backlog=1024,
        connection_limit=1000,
        channel_timeout=60,
        _quiet=True,
    )


if __name__ == "__main__":
    main()
