"""The API's public URL for the harness: a loopback HTTP server in front of a warm API function host.

API Gateway stands in front of the API function on AWS; here a small server plays it for callers that
only speak HTTP, such as a plugin's code calling the broker: it takes ``<url>/<stage>/<route>``, strips the
stage as API Gateway does, and hands the request to its own API host (a second warm instance of the API
function, as Lambda scales out for concurrent requests: the first may be waiting for this very plugin).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .function_stack import Host

STAGE = "api"  # the REST API's stage, as chalice names it


class ApiFront:
    """The server; ``host`` is set once the API host it serves has started (it needs ``url`` first)."""

    def __init__(self) -> None:
        self.host: Host | None = None
        self.lock = threading.Lock()
        self.failures: list[str] = []
        front = self

        class Handler(_Handler):
            def serving(self) -> ApiFront:
                return front

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{STAGE}"

    def start(self, host: Host) -> None:
        self.host = host
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def warm(self) -> None:
        """Serve one request that builds the API's services (its readiness check)."""
        assert self.host is not None
        with self.lock:
            resp = self.host.http("GET", "/health/ready")
        if resp["status"] != 200:
            self.failures.append(f"warm-up: {resp['status']} {resp['body'][:500]}")

    def stop(self) -> None:
        if self.host is not None:
            self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def serving(self) -> ApiFront:
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        front = self.serving()
        assert front.host is not None
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path
        if not (path == f"/{STAGE}" or path.startswith(f"/{STAGE}/")):
            self._answer(403, {"Content-Type": "application/json"}, b'{"message":"Forbidden"}')
            return
        path = path[len(STAGE) + 1 :] or "/"
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = {"method": self.command, "path": path, "headers": headers, "body": body.decode()}
        with front.lock:  # one request at a time per warm instance, as Lambda runs them
            try:
                resp = front.host.send({"http": request})
            except RuntimeError as exc:  # the function failed: API Gateway answers 502
                front.failures.append(str(exc))
                self._answer(502, {"Content-Type": "application/json"}, b'{"message":"Internal server error"}')
                return
        self._answer(resp["status"], resp["headers"], (resp["body"] or "").encode())

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any
