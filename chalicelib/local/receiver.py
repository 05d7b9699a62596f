"""A webhook receiver on loopback for local development, tests and benchmarks.

Each path has a plan: a list of Answers consumed one request at a time (then ``default``). An
Answer can be a status with headers and body, a delay before answering, a body dripped slowly, a
reset connection, or silence (hang). Every request is kept (path, headers, raw body), so a test
can verify each delivery's signature exactly as a receiver would.

    python -m chalicelib.local.receiver --port 9000   # prints each request; always answers 204
"""

from __future__ import annotations

import argparse
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Answer", "Received", "Receiver"]


@dataclass(frozen=True)
class Answer:
    """How to answer one request."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0
    drip_s: float = 0.0  # pause between body bytes
    reset: bool = False  # close the connection with an RST instead of answering


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """A threaded HTTP server on 127.0.0.1 with per-path answer plans."""

    def __init__(self, default: Answer | None = None, port: int = 0) -> None:
        self.default = default or Answer()
        self.plans: dict[str, list[Answer]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._record_and_plan(self.path, dict(self.headers.items()), body)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                if answer.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.drip_s:
                    for i in range(len(answer.body)):
                        self.wfile.write(answer.body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(answer.drip_s)
                else:
                    self.wfile.write(answer.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    def _record_and_plan(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._lock:
            self.received.append(Received(path, headers, body, time.monotonic()))
            plan = self.plans.get(path)
            return plan.pop(0) if plan else self.default

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def plan(self, path: str, *answers: Answer) -> str:
        """Queue answers for ``path``; returns the full URL of that path."""
        with self._lock:
            self.plans.setdefault(path, []).extend(answers)
        return self.url + path

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    """Run a receiver that prints what it gets (local development)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    with Receiver(port=args.port) as r:
        print(f"Receiving webhooks on {r.url}/ (Ctrl-C stops)", flush=True)
        seen = 0
        try:
            while True:
                time.sleep(0.2)
                for req in r.received[seen:]:
                    print(req.path, {k: v for k, v in req.headers.items() if k.lower().startswith("webhook-")})
                    print(req.body.decode(errors="replace"), flush=True)
                seen = len(r.received)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
