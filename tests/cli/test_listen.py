"""`plugyard listen --forward-to URL` against `make run`: a real event reaches a loopback receiver, verifiable.

The receiver is what a developer writes: it verifies each request with the `standardwebhooks` reference
library and the secret the CLI printed, exactly as it will verify real webhook deliveries.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from make_run_stack import MakeRun
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    """A loopback HTTP server that records every request and whether it verified with ``secret``."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret or "whsec_" + "A" * 44).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                receiver.received.append({"body": json.loads(body), "headers": headers, "verified": verified})
                self.send_response(200 if verified else 400)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_listen_forwards_a_real_event_signed_with_the_printed_secret(
    plugyard_bin: Path, user_home: Path, make_run: MakeRun, receiver: Receiver, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGYARD_", "PYTHONPATH", "XDG_"))}
    env.update({"HOME": str(user_home), "PLUGYARD_API_URL": make_run.api, "PLUGYARD_API_KEY": make_run.key})
    proc = subprocess.Popen(
        [str(plugyard_bin), "listen", "--forward-to", receiver.url, "--events", "task.created"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(line.rstrip() for line in proc.stderr or []), daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not any("signing secret is" in line for line in lines):
            assert proc.poll() is None and time.monotonic() < deadline, lines
            time.sleep(0.05)
        secret = re.search(r"(whsec_\S+)", next(line for line in lines if "signing secret" in line))
        assert secret is not None
        receiver.secret = secret.group(1)

        api = httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {make_run.key}"}, timeout=30)
        task = api.post("/api/tasks", json={"title": "forwarded by plugyard listen"})
        assert task.status_code == 201, task.text
        task_id = task.json()["task_id"]
        started = time.perf_counter()
        while not any(r["body"]["data"].get("task_id") == task_id for r in receiver.received):
            assert time.perf_counter() - started < 30, (lines, receiver.received)
            time.sleep(0.05)
        print(f"task created -> forwarded by plugyard listen: {(time.perf_counter() - started) * 1000:.0f} ms")
        [got] = [r for r in receiver.received if r["body"]["data"].get("task_id") == task_id]
        assert got["verified"] is True
        assert got["body"]["type"] == "task.created" and got["headers"]["webhook-id"] == got["body"]["id"]
        assert all(r["body"]["type"] == "task.created" for r in receiver.received)  # the --events filter
        deadline = time.monotonic() + 10
        while not any("<-- 200" in line for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.05)
        assert any(f"--> task.created [{got['body']['id']}]" in line for line in lines), lines
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0, lines
    assert any("listen session is closed" in line for line in lines), lines
