"""The SDK outside the sandbox: the author's test kit and the Lambda bootstrap over HTTP."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from plugyard_runtime import PermissionDenied, lambda_handler
from plugyard_runtime.testing import FakeContext


def greet(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
    count = ctx.storage.get("count", 0) + 1
    ctx.storage.put("count", count)
    ctx.events.emit("plugin.greeter.sent", {"to": event["name"]})
    ctx.log.info("greeted %s", event["name"])
    return {"text": f"{ctx.config['greeting']}, {event['name']}", "count": count}


def test_fake_context_lets_authors_unit_test_a_handler() -> None:
    ctx = FakeContext(config={"greeting": "Hi"}, granted=["storage:read", "storage:write", "events:emit"],
                      storage={"count": 41}, plugin_id="greeter")  # fmt: skip
    assert greet({"name": "Ada"}, ctx) == {"text": "Hi, Ada", "count": 42}
    assert ctx.emitted == [("plugin.greeter.sent", {"to": "Ada"})]
    assert ctx.storage_data == {"count": 42}
    assert ctx.logs == ["INFO greeted Ada"]


def test_fake_context_enforces_scopes() -> None:
    ctx = FakeContext(config={"greeting": "Hi"}, granted=["storage:read"])
    with pytest.raises(PermissionDenied):
        greet({"name": "Ada"}, ctx)
    assert ctx.permissions.has("storage:read") and not ctx.permissions.has("events:emit")


class _Broker(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, self.headers["Authorization"], body))
        if body["name"] == "events.emit":
            status, reply = 403, {"ok": False, "error": {"type": "PermissionDenied", "message": "no events:emit"}}
        else:
            status, reply = 200, {"ok": True, "result": {"value": 41} if body["name"] == "storage.get" else {}}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def broker_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("PLUGYARD_BROKER_URL", url)
    yield url
    server.shutdown()


def test_lambda_bootstrap_runs_the_entrypoint_with_an_http_ctx(
    broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lambda_plugin.py").write_text(
        "def handler(event, ctx):\n"
        "    n = ctx.storage.get('count')\n"
        "    ctx.storage.put('count', n + 1)\n"
        "    if event.get('emit'):\n"
        "        ctx.events.emit('x.done', {})\n"
        "    return {'count': n + 1}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("lambda_plugin", None)  # another test may have imported a module of that name
    monkeypatch.setenv("PLUGYARD_ENTRYPOINT", "lambda_plugin:handler")
    _Broker.seen.clear()
    event = {"event": {}, "capability_token": "tok-123", "granted": ["storage:read", "storage:write"]}
    assert lambda_handler(event, None) == {"status": "succeeded", "result": {"count": 42}, "error": None}
    assert [(path, auth) for path, auth, _ in _Broker.seen] == [
        ("/capabilities/storage.get", "Bearer tok-123"),
        ("/capabilities/storage.put", "Bearer tok-123"),
    ]
    assert _Broker.seen[1][2] == {"name": "storage.put", "args": {"key": "count", "value": 42}}
    denied = lambda_handler({**event, "event": {"emit": True}}, None)
    assert denied["status"] == "permission_denied"
    assert denied["error"] == {"type": "PermissionDenied", "message": "no events:emit"}
    sys.modules.pop("lambda_plugin", None)


def test_lambda_bootstrap_reports_a_missing_broker_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGYARD_BROKER_URL", raising=False)
    outcome = lambda_handler({"entrypoint": "x:y"}, None)
    # The broker's URL travels with each invocation (the environment is only a fallback).
    assert outcome["status"] == "failed" and "broker_url" in outcome["error"]["message"]
