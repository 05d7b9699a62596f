"""Serve the Chalice app through chalice's LocalGateway under waitress (a production WSGI server).

``chalice local`` is a thread-per-request http.server with a listen backlog of 5 that stalls ~44 ms on
keep-alive connections; waitress keeps API Gateway semantics (the same LocalGateway turns each request
into the API Gateway proxy event) without those costs. See bench/api_latency.py for both measured.

Like API Gateway, routing happens on the raw request path: ``%3F`` or ``%2F`` inside a path parameter
stays inside it (``GET /api/webhooks/%3Fx`` asks for the webhook ``?x``, never the list), and path
parameters reach the app decoded. Every answer carries ``X-Request-Id``, and every error, including
the server's own for a malformed request line, is an RFC 7807 problem.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

from chalicelib.api.problems import PROBLEM_BASE, PROBLEM_TYPE, problem

__all__ = ["GatewayApp", "main", "raw_target"]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def raw_target(environ: dict[str, Any]) -> str:
    """The request target as the client sent it (path still percent-encoded, query included)."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        parts = urlsplit(str(raw))
        path = parts.path or "/"
        return path + ("?" + parts.query if parts.query else "")
    # A WSGI server without the raw target: re-encode what it decoded (``%3F`` cannot survive that).
    path = quote(environ.get("PATH_INFO") or "/", safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING")
    return path + ("?" + query if query else "")


class _RawPathGateway(LocalGateway):  # type: ignore[misc]
    """LocalGateway that routes on the raw path, decodes path parameters, and stamps the request id."""

    def __init__(self, app: Any, config: Config) -> None:
        super().__init__(app, config)
        self.request = threading.local()

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> dict[str, Any]:
        event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        params = event.get("pathParameters") or {}
        event["pathParameters"] = {k: unquote(v) for k, v in params.items()}
        event["requestContext"]["requestId"] = getattr(self.request, "id", None) or str(uuid.uuid4())
        return event


class GatewayApp:
    """WSGI application: HTTP request → API Gateway proxy event → Chalice app → HTTP response."""

    def __init__(self, app: Any, *, stage: str = "dev", max_body_bytes: int = 1024 * 1024) -> None:
        config = Config.create(chalice_stage=stage, app_name="plugyard", lambda_timeout=60, lambda_memory_size=512)
        self._gateway = _RawPathGateway(app, config)
        self._max_body = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        target = raw_target(environ)
        instance = target.split("?", 1)[0]
        request_id = str(uuid.uuid4())
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return self._send(
                start_response,
                self._problem(400, "invalid-request", "The request is malformed", "Bad Content-Length.", instance),
                request_id,
            )
        if length > self._max_body:
            detail = f"The body is {length} bytes; the limit is {self._max_body}."
            problem_ = self._problem(413, "payload-too-large", "The request body is too large", detail, instance)
            return self._send(start_response, problem_, request_id)
        body = environ["wsgi.input"].read(length) if length else None
        if body is not None:
            headers["content-length"] = str(len(body))
        self._gateway.request.id = request_id
        try:
            response = self._gateway.handle_request(method=method, path=target, headers=headers, body=body)
        except LocalGatewayException as exc:
            # No route matched (API Gateway answers 403 "Missing Authentication Token"; we say what happened).
            if exc.CODE == 403:
                detail = f"No route matches {method} {instance}."
                response = self._problem(404, "route-not-found", "No such route", detail, instance)
            else:
                response = self._problem(
                    exc.CODE, "gateway-error", "Gateway error", "The request was refused.", instance
                )
        finally:
            self._gateway.request.id = None
        return self._send(start_response, response, request_id)

    @staticmethod
    def _problem(status: int, code: str, title: str, detail: str, instance: str) -> dict[str, Any]:
        return problem(status, code, title, detail, instance=instance).to_dict()

    @staticmethod
    def _send(start_response: StartResponse, response: dict[str, Any], request_id: str) -> Iterable[bytes]:
        status = int(response["statusCode"])
        headers = dict(response.get("headers") or {})
        out: list[tuple[str, str]] = [(k, str(v)) for k, v in headers.items()]
        for k, values in (response.get("multiValueHeaders") or {}).items():
            out.extend((k, str(v)) for v in values)
        raw = response.get("body") or b""
        if response.get("isBase64Encoded"):
            data = base64.b64decode(raw)
        else:
            data = raw.encode() if isinstance(raw, str) else bytes(raw)
        if not any(k.lower() == "x-request-id" for k, _ in out):
            out.append(("X-Request-Id", request_id))
            data = _with_request_id(data, headers, request_id)
        out = [(k, v) for k, v in out if k.lower() != "content-length"] + [("Content-Length", str(len(data)))]
        start_response(f"{status} {_reason(status)}", out)
        return [data]


def _with_request_id(data: bytes, headers: dict[str, Any], request_id: str) -> bytes:
    """A problem body made before the request had an id gets it, as every problem has one."""
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    if not content_type.startswith(PROBLEM_TYPE):
        return data
    try:
        body = json.loads(data)
    except ValueError:
        return data
    if isinstance(body, dict) and "request_id" not in body:
        body["request_id"] = request_id
        return json.dumps(body).encode()
    return data


def _problem_error_task() -> type[Any]:
    """waitress's error task (malformed request line, oversize headers, …) answering with a problem."""
    from waitress.task import ErrorTask

    class ProblemErrorTask(ErrorTask):  # type: ignore[misc]
        def execute(self) -> None:
            error = self.request.error
            request_id = str(uuid.uuid4())
            body = {
                "type": PROBLEM_BASE + "malformed-request",
                "title": str(error.reason),
                "status": int(error.code),
                "detail": str(error.body),
                "instance": str(getattr(self.request, "path", "") or "/"),
                "request_id": request_id,
            }
            data = json.dumps(body).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", PROBLEM_TYPE), ("X-Request-Id", request_id)])
            self.set_close_on_finish()
            self.content_length = len(data)
            self.write(data)

    return ProblemErrorTask


def create_server(wsgi: GatewayApp, *, host: str, port: int, threads: int = 8) -> Any:
    """A waitress server for ``wsgi`` whose own protocol errors are problems too."""
    import waitress.server
    from waitress.channel import HTTPChannel

    class ProblemChannel(HTTPChannel):  # type: ignore[misc]
        error_task_class = _problem_error_task()

    server = waitress.server.create_server(
        wsgi,
        host=host,
        port=port,
        threads=threads,
        ident="plugyard",
        backlog=1024,
        connection_limit=1000,
        channel_timeout=60,
    )
    server.channel_class = ProblemChannel
    return server


def main(argv: list[str] | None = None) -> None:
    """Run the API: ``python -m chalicelib.local.gateway --port 8000``."""
    import sys

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
    create_server(wsgi, host=args.host, port=args.port, threads=args.threads).run()


if __name__ == "__main__":
    main()
