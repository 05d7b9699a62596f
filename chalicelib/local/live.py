"""The local WebSocket API: ``python -m chalicelib.local.live`` (started by ``make run`` / LocalStack.start).

It stands in for API Gateway's WebSocket API: every connection gets an id, and its handshake, messages and
close become the events API Gateway sends to ``$connect``, ``$default`` and ``$disconnect`` — handed to the
SAME chalice handlers app.py registers (``app.handler_map``), exactly as Lambda would call them. A
``$connect`` answer outside 2xx refuses the handshake with that status and the handler's problem body.

Pushes come in on a loopback control port that mirrors the API Gateway Management API:
``POST /@connections/<id>`` with the frame as the body (200 sent, 410 gone), guarded by a shared secret
header (``X-Plugyard-Live-Secret``, PLUGYARD_LIVE_SECRET): the dispatcher runs in the workers process and
reaches the sockets through it (chalicelib.adapters.live.LoopbackLiveSender).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import importlib
import json
import logging
import secrets
import signal
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chalicelib.adapters.live import LIVE_SECRET_HEADER
from chalicelib.domain.live import MAX_FRAME_BYTES

__all__ = ["LiveServer", "api_gateway_event", "main"]

log = logging.getLogger("plugyard.live")

Handler = Callable[[dict[str, Any], Any], dict[str, Any] | None]
STAGE = "local"
PUSH_TIMEOUT_S = 5.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def api_gateway_event(
    route_key: str,
    connection_id: str,
    *,
    domain: str,
    headers: Headers | None = None,
    path: str = "/",
    body: str | bytes | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The event API Gateway's WebSocket API sends a Lambda integration for ``route_key``."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": STAGE,
        "connectionId": connection_id,
        "domainName": domain,
        "apiId": "local",
        "requestId": str(uuid.uuid4()),
        "extendedRequestId": str(uuid.uuid4()),
        "requestTimeEpoch": _now_ms(),
        "identity": {"sourceIp": source_ip},
    }
    event: dict[str, Any] = {"requestContext": ctx, "isBase64Encoded": False}
    if route_key == "$connect":
        hs = headers or Headers()
        event["headers"] = {k: v for k, v in hs.raw_items()}
        event["multiValueHeaders"] = {k: hs.get_all(k) for k in hs}
        query = parse_qs(urlsplit(path).query, keep_blank_values=True)
        if query:
            event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
            event["multiValueQueryStringParameters"] = query
    elif route_key == "$disconnect":
        ctx["disconnectStatusCode"] = 1000
    else:
        ctx["messageId"] = secrets.token_urlsafe(12)
        if isinstance(body, bytes):
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = body or ""
    return event


def _app_handlers() -> dict[str, Handler]:
    """The Lambda-level handlers app.py registered, by route key (what API Gateway would integrate)."""
    app = importlib.import_module("app").app
    return {route: app.handler_map[config.name] for route, config in app.websocket_handlers.items()}


class LiveServer:
    """A websocket server on ``port`` and its control endpoint on ``control_port`` (both on 127.0.0.1)."""

    def __init__(
        self,
        *,
        port: int,
        control_port: int,
        secret: str,
        handlers: dict[str, Handler] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host, self.port, self.control_port = host, port, control_port
        self._secret = secret
        self._handlers = handlers if handlers is not None else _app_handlers()
        self._sockets: dict[str, ServerConnection] = {}
        self._ids: dict[int, str] = {}  # id(connection) → connection id, set when $connect accepts it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: ThreadingHTTPServer | None = None

    # --- websocket side -------------------------------------------------------------------------

    def _call(self, route: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = self._handlers.get(route)
        if handler is None:
            return {"statusCode": 200}
        return handler(event, None) or {"statusCode": 200}

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = base64.b64encode(secrets.token_bytes(10)).decode()  # API Gateway's id shape
        peer = connection.remote_address[0] if connection.remote_address else "127.0.0.1"
        event = api_gateway_event(
            "$connect",
            connection_id,
            domain=f"{self.host}:{self.port}",
            headers=request.headers,
            path=request.path,
            source_ip=str(peer),
        )
        answer = await asyncio.to_thread(self._call, "$connect", event)
        status = int(answer.get("statusCode", 200))
        if status >= 300:
            resp = connection.respond(status, str(answer.get("body") or ""))
            content_type = (answer.get("headers") or {}).get("Content-Type")
            if content_type:
                del resp.headers["Content-Type"]
                resp.headers["Content-Type"] = str(content_type)
            return resp
        self._ids[id(connection)] = connection_id
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        connection_id = self._ids.pop(id(connection))
        self._sockets[connection_id] = connection
        domain = f"{self.host}:{self.port}"
        try:
            async for message in connection:
                event = api_gateway_event("$default", connection_id, domain=domain, body=message)
                try:
                    await asyncio.to_thread(self._call, "$default", event)
                except Exception:  # as on AWS: a failing $default handler does not close the socket
                    log.exception("$default handler failed", extra={"connection_id": connection_id})
        except ConnectionClosed:
            pass
        finally:
            self._sockets.pop(connection_id, None)
            event = api_gateway_event("$disconnect", connection_id, domain=domain)
            try:
                await asyncio.to_thread(self._call, "$disconnect", event)
            except Exception:
                log.exception("$disconnect handler failed", extra={"connection_id": connection_id})

    async def _push(self, connection_id: str, frame: str) -> bool:
        connection = self._sockets.get(connection_id)
        if connection is None:
            return False
        try:
            await connection.send(frame)
        except ConnectionClosed:
            return False
        return True

    def push(self, connection_id: str, frame: str) -> bool:
        """Send a frame to a connection from any thread; False if it is gone."""
        loop = self._loop
        if loop is None:
            return False
        return asyncio.run_coroutine_threadsafe(self._push(connection_id, frame), loop).result(PUSH_TIMEOUT_S)

    # --- control side (the Management API's post_to_connection) ---------------------------------

    def _control_server(self) -> ThreadingHTTPServer:
        server = self

        class Control(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature; quiet
                return

            def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
                raw = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._answer(
                    200 if self.path == "/health" else 404, {"status": "ok", "connections": len(server._sockets)}
                )

            def do_POST(self) -> None:
                given = self.headers.get(LIVE_SECRET_HEADER) or ""
                if not hmac.compare_digest(given.encode(), server._secret.encode()):
                    self._answer(401, {"message": "bad or missing control secret"})
                    return
                if not self.path.startswith("/@connections/"):
                    self._answer(404, {"message": "no such route"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_FRAME_BYTES:
                    self._answer(413, {"message": f"a frame is at most {MAX_FRAME_BYTES} bytes"})
                    return
                frame = self.rfile.read(length).decode("utf-8", errors="replace")
                connection_id = self.path.removeprefix("/@connections/")
                if server.push(connection_id, frame):
                    self._answer(200)
                else:
                    self._answer(410, {"message": "GoneException"})

        return ThreadingHTTPServer((self.host, self.control_port), Control)

    # --- lifecycle -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serve both sides until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        self._http = self._control_server()
        threading.Thread(target=self._http.serve_forever, name="live-control", daemon=True).start()
        try:
            async with serve(
                self._serve,
                self.host,
                self.port,
                process_request=self._process_request,
                max_size=MAX_FRAME_BYTES,
                # API Gateway closes idle sockets after 10 minutes; protocol pings keep ours honest.
                ping_interval=30,
            ):
                await stop.wait()
        finally:
            self._http.shutdown()
            self._http.server_close()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="websocket port")
    parser.add_argument("--control-port", type=int, required=True, help="loopback push endpoint")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)

    from chalicelib.container import services
    from chalicelib.container import settings as process_settings

    settings = process_settings()  # the one read of this process, shared with its services
    if settings.live_secret is None:
        raise SystemExit("PLUGYARD_LIVE_SECRET must be set: it guards the control port.")
    server = LiveServer(port=args.port, control_port=args.control_port, secret=settings.live_secret.get_secret_value())
    services()  # build once, before handler threads race to do it

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("live events on ws://%s:%d (control %d)", server.host, server.port, server.control_port)
        await server.run(stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
