"""`make run` as a user meets it: start, browse, install, register a webhook, read the audit, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chalicelib.local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "pyk_e2e-walkthrough-fixed-key"
# A public IP literal: no DNS needed (the test machine has no network), and the SSRF guard accepts it.
HOOK_URL = "https://93.184.216.34/plugyard-hook"


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[subprocess.Popen[str], str, int, int]]:
    api_port, moto_port = free_port(), free_port()
    env = {
        **os.environ,
        "PLUGYARD_PORT": str(api_port),
        "PLUGYARD_MOTO_PORT": str(moto_port),
        "PLUGYARD_DEV_API_KEY": DEV_KEY,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")]),
    }
    env.pop("PLUGYARD_WEBHOOKS_ALLOW_PRIVATE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.stack"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    banner: list[str] = []
    deadline = time.monotonic() + 120  # a loaded 2-core machine seeds slowly
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            pytest.fail("make run exited early:\n" + "".join(banner))
        banner.append(line)
        if "Ctrl-C stops every process" in line:
            break
    else:
        proc.kill()
        pytest.fail("no banner within 120 s:\n" + "".join(banner))
    text = "".join(banner)
    assert f"Admin API key  {DEV_KEY}" in text and f"http://127.0.0.1:{api_port}/api" in text
    try:
        yield proc, f"http://127.0.0.1:{api_port}", api_port, moto_port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,pgid="], capture_output=True, text=True).stdout
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    kids, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp, _ in rows if pp in frontier} - kids
        kids |= frontier
    return kids


def test_walkthrough_then_ctrl_c_stops_everything(running: tuple[subprocess.Popen[str], str, int, int]) -> None:
    proc, url, api_port, moto_port = running
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {DEV_KEY}"}, timeout=30)

    listing = api.get("/api/plugins/list").json()
    demo = {p["plugin_id"] for p in listing["items"]}
    assert {"hello-world", "slack-notifier", "task-summarizer"} <= demo

    detail = api.get("/api/plugins/slack-notifier").json()
    scopes = [s["scope"] for s in detail["versions"][0]["permissions"]]
    assert scopes == ["http:fetch", "tasks:read"]

    inst = api.post(
        "/api/plugins/install", json={"plugin_id": "slack-notifier", "grant": scopes, "config": {"channel": "#ops"}}
    )
    assert inst.status_code == 201, inst.text
    assert inst.json()["granted"] == scopes

    hook = api.post("/api/webhooks/register", json={"url": HOOK_URL, "event_types": ["plugin.installed"]})
    assert hook.status_code == 201, hook.text
    assert hook.json()["secret"].startswith("whsec_")
    loopback = api.post("/api/webhooks/register", json={"url": "http://127.0.0.1:9/x", "event_types": ["task.failed"]})
    assert loopback.status_code == 422  # make run keeps the SSRF guard on

    actions = [r["action"] for r in api.get("/api/audit").json()["items"]]
    # Newest first: the refused loopback registration (denied), the accepted one, then the install.
    assert actions[:3] == ["webhook.register", "webhook.register", "plugin.install"]
    assert "plugin.version.publish" in actions
    api.close()

    kids = children_of(proc.pid)
    assert len(kids) >= 2  # moto and the API
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (children_of(proc.pid) or any(_alive(k) for k in kids)):
        time.sleep(0.1)
    assert not [k for k in kids if _alive(k)], "child processes outlived Ctrl-C"
    # Nothing listens any more (bind() would be fooled by TIME_WAIT, so connect instead).
    assert not _listening(api_port) and not _listening(moto_port)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
