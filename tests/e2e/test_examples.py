"""Every example plugin of examples/plugins, as `make run` seeded it, run in the real sandbox on its real trigger.

Uses the session's `make run` (tests/e2e/conftest.py): the plugins installed here are the signed, approved
versions the seed published, and each runs because something really happened — a task created, run and
completed or failed over the API (the host emits the event), an inbound trigger called over HTTP with its
secret, an invocation through the API. The tests install into a workspace of their own, created the way an
operator does it (`python -m chalicelib.cli workspace create`, what `make workspace` runs), and each test
uninstalls what it installed after its plugin has handled every event it waits for, so no plugin sees another
test's tasks. The one plugin not installed as seeded is the Slack notifier: its manifest may only
reach hooks.slack.com and there is no network here, so a copy whose allowed host is a receiver on loopback is
published (the stack lets `ctx.http.fetch` reach loopback: PLUGYARD_HTTP_FETCH_ALLOW_PRIVATE in
tests/make_run_stack.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from conftest import uid
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.local.packaging import build_plugin_zip
from chalicelib.local.seed import public_key_b64, publish_zip

from .conftest import MakeRun

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "plugins"
FOLDERS = sorted(p for p in EXAMPLES.iterdir() if (p / "plugyard.json").exists())


def manifest_of(name: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / name / "plugyard.json").read_text()))


class Workspace:
    """A fresh workspace on the shared stack and its admin's API client."""

    def __init__(self, make_run: MakeRun) -> None:
        self.workspace_id = uid("ex")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")},
            "PLUGYARD_AWS_ENDPOINT_URL": make_run.moto_url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")]),
        }
        cmd = [sys.executable, "-m", "chalicelib.cli", "workspace", "create", self.workspace_id]
        done = subprocess.run(
            [*cmd, "--name", "Examples", "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        key = json.loads(done.stdout)["key"]
        self.api = httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        self.installed: list[str] = []

    def install(self, plugin_id: str, config: dict[str, Any] | None = None, grant: list[str] | None = None) -> str:
        """Install the newest approved version, granting what its manifest requests; returns the installation id."""
        if grant is None:
            latest = self.api.get(f"/api/plugins/{plugin_id}").json()["versions"][0]
            grant = [p["scope"] for p in latest["permissions"]]
        body: dict[str, Any] = {"plugin_id": plugin_id, "grant": grant, "config": config or {}}
        resp = self.api.post("/api/plugins/install", json=body)
        assert resp.status_code == 201, resp.text
        self.installed.append(resp.json()["installation_id"])
        return str(resp.json()["installation_id"])

    def task(self, title: str, finish: str = "complete", **body: Any) -> str:
        """Create a task, run it and complete (or fail) it: the host emits task.completed / task.failed."""
        task = self.api.post("/api/tasks", json={"title": title})
        assert task.status_code == 201, task.text
        task_id = str(task.json()["task_id"])
        assert self.api.post(f"/api/tasks/{task_id}/run").status_code == 200
        done = self.api.post(f"/api/tasks/{task_id}/{finish}", json=body)
        assert done.status_code == 200, done.text
        return task_id

    def invoke(self, installation_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        resp = self.api.post(f"/api/installations/{installation_id}/invoke", json={"payload": payload})
        assert resp.status_code == 200, resp.text
        out = dict(resp.json())
        assert out["status"] == "succeeded", out
        return out

    def runs(self, installation_id: str, count: int) -> list[dict[str, Any]]:
        """Wait until the installation has ``count`` event-triggered invocation records; oldest first."""

        def records() -> list[dict[str, Any]] | None:
            items = self.api.get(f"/api/installations/{installation_id}/invocations", params={"limit": 100})
            found = [i for i in items.json()["items"] if i["trigger"] == "event"]
            return found[::-1] if len(found) >= count else None

        found = wait_for(records, f"{count} event invocations of {installation_id}")
        assert len(found) == count, found
        return found

    def close(self) -> None:
        self.api.close()


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout_s} s")


@pytest.fixture(scope="module")
def workspace(make_run: MakeRun) -> Iterator[Workspace]:
    w = Workspace(make_run)
    yield w
    w.close()


@pytest.fixture
def ws(workspace: Workspace) -> Iterator[Workspace]:
    """The module's workspace; what the test installed is uninstalled after it."""
    yield workspace
    while workspace.installed:
        iid = workspace.installed.pop()
        assert workspace.api.delete(f"/api/installations/{iid}").status_code == 204


class _Receiver(BaseHTTPRequestHandler):
    posts: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.posts.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[tuple[str, dict[str, Any]]]]]:
    """An HTTP receiver on loopback: (its port, what was POSTed to it as (path, JSON body))."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.posts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], _Receiver.posts
    server.shutdown()


def test_make_run_seeded_every_example_approved_and_listed(make_run: MakeRun, ws: Workspace) -> None:
    listing = ws.api.get("/api/plugins/list", params={"limit": 100}).json()["items"]
    listed = {p["plugin_id"] for p in listing}
    for folder in FOLDERS:
        man = manifest_of(folder.name)
        assert man["id"] in listed, f"{man['id']} is not in the marketplace"
        # The seeded version (the README walkthrough may have published a newer one of hello-world since).
        versions = ws.api.get(f"/api/plugins/{man['id']}").json()["versions"]
        [seeded] = [v for v in versions if v["version"] == man["version"]]
        assert seeded["state"] == "approved", seeded
        assert sorted(p["scope"] for p in seeded["permissions"]) == sorted(man.get("permissions", []))
        # Every example says what it does and which permissions it needs, in its own README.
        readme = (folder / "README.md").read_text()
        assert all(f"`{scope}`" in readme for scope in man.get("permissions", [])), folder.name
    # Five that do real work, and the smallest one there is.
    assert len(FOLDERS) >= 6
    banner_plugins = make_run.banner.split("Demo plugins", 1)[1].splitlines()[0]
    assert all(manifest_of(f.name)["id"] in banner_plugins for f in FOLDERS)


def test_hello_world_greets_on_invoke(ws: Workspace) -> None:
    iid = ws.install("hello-world", {"greeting": "Hi"})
    assert ws.invoke(iid, {"name": "Ada"})["result"] == {"message": "Hi, Ada!"}


def test_task_summarizer_annotates_each_completed_task_with_an_ai_summary(ws: Workspace) -> None:
    iid = ws.install("task-summarizer", {"max_words": 12})
    task_id = ws.task("Write the quarterly report for the board", result={"pages": 12})
    [record] = ws.runs(iid, 1)
    assert (record["status"], record["entrypoint"]) == ("succeeded", "on_completed"), record
    notes = [a for a in ws.api.get(f"/api/tasks/{task_id}").json()["annotations"] if "plugin" in a]
    [note] = notes
    assert note["plugin"] == "task-summarizer"
    assert "quarterly report" in note["summary"] and len(note["summary"].split()) <= 12
    # Invoked directly it answers the summary text and leaves the task alone.
    out = ws.invoke(iid, {"task_id": task_id})["result"]
    assert out["task_id"] == task_id and isinstance(out["summary"], str)
    assert [a for a in ws.api.get(f"/api/tasks/{task_id}").json()["annotations"] if "plugin" in a] == notes


def test_task_labeller_labels_each_completed_task(ws: Workspace) -> None:
    iid = ws.install("task-labeller")
    first = ws.task("Fix the login crash before the release")
    second = ws.task("Update the onboarding guide")
    records = ws.runs(iid, 2)
    assert [(r["status"], r["entrypoint"]) for r in records] == [("succeeded", "on_completed")] * 2, records

    def labels(task_id: str) -> list[str]:
        notes = ws.api.get(f"/api/tasks/{task_id}").json()["annotations"]
        [mine] = [a for a in notes if a.get("plugin") == "task-labeller"]
        return list(mine["labels"])

    assert labels(first) == ["bug", "release"]
    assert labels(second) == ["docs"]
    assert ws.invoke(iid, {"title": "Rotate the leaked secret"})["result"] == {"labels": ["security"]}


def test_task_counter_counts_completed_and_failed_tasks_in_its_storage(ws: Workspace) -> None:
    iid = ws.install("task-counter")
    ws.task("ship a")
    ws.task("ship b")
    ws.task("migrate", "fail", reason="lock timeout")
    records = ws.runs(iid, 3)
    assert {(r["status"], r["entrypoint"]) for r in records} == {("succeeded", "events")}, records
    today = dt.datetime.now(dt.UTC).date().isoformat()
    out = ws.invoke(iid, {"days": 2, "today": today})["result"]
    assert (out["completed"], out["failed"]) == (2, 1), out


def test_slack_notifier_posts_to_its_allowed_host_on_completed_and_failed_tasks(
    make_run: MakeRun, ws: Workspace, receiver: tuple[int, list[tuple[str, dict[str, Any]]]]
) -> None:
    port, posts = receiver
    # The seeded notifier, under a new id, allowed to reach the receiver instead of hooks.slack.com.
    plugin_id = uid("notifier")
    with zipfile.ZipFile(BytesIO(build_plugin_zip(EXAMPLES / "slack-notifier"))) as src:
        files = {name: src.read(name) for name in src.namelist()}
    man = json.loads(files["plugyard.json"])
    man["id"], man["http"]["allowed_hosts"] = plugin_id, ["127.0.0.1"]
    files["plugyard.json"] = json.dumps(man).encode()
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, raw in files.items():
            dst.writestr(name, raw)
    demo = httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {make_run.key}"}, timeout=60)
    signing_key = Ed25519PrivateKey.generate()
    with demo:
        assert demo.post("/api/publisher/keys", json={"public_key": public_key_b64(signing_key)}).status_code == 201
        assert publish_zip(demo, out.getvalue(), signing_key).status_code == 201
    approve = httpx.post(
        f"{make_run.api}/api/review/{plugin_id}/{man['version']}/approve",
        json={"reason": "example under test"},
        headers={"Authorization": f"Bearer {make_run.reviewer}"},
    )
    assert approve.status_code == 200, approve.text

    hook = f"http://127.0.0.1:{port}/services/T000/B000/secret"
    iid = ws.install(plugin_id, {"channel": "#ops", "webhook_url": hook})
    ws.task("deploy api", result={"ok": True})
    ws.task("migrate db", "fail", reason="lock timeout")
    records = ws.runs(iid, 2)
    assert [r["status"] for r in records] == ["succeeded", "succeeded"], records
    assert sorted(body["text"] for _, body in posts) == [
        "#ops: task 'deploy api' completed",
        "#ops: task 'migrate db' failed",
    ]
    assert {path for path, _ in posts} == {"/services/T000/B000/secret"}
    shown = ws.api.get(f"/api/installations/{iid}").json()
    assert hook not in json.dumps(shown) and shown["secret_fields"] == ["webhook_url"]


def test_deploy_tracker_records_inbound_trigger_calls_and_announces_them(
    make_run: MakeRun, ws: Workspace, receiver: tuple[int, list[tuple[str, dict[str, Any]]]]
) -> None:
    port, posts = receiver
    iid = ws.install("deploy-tracker")
    # Its announcements reach a webhook of the workspace (make run accepts loopback webhook URLs).
    hook = ws.api.post(
        "/api/webhooks/register",
        json={"url": f"http://127.0.0.1:{port}/deploys", "event_types": ["plugin.deploy-tracker.deployed"]},
    )
    assert hook.status_code == 201, hook.text
    trigger = ws.api.post(f"/api/installations/{iid}/triggers", json={"name": "deployed"})
    assert trigger.status_code == 201, trigger.text
    url, secret = make_run.api + trigger.json()["path"], trigger.json()["secret"]

    # CI calls the trigger over HTTP with its secret, and no API key.
    calls = [{"service": "api", "version": "1.4.1"}, {"service": "api", "version": "1.4.2"}, {"service": "api"}]
    for n, body in enumerate(calls, 1):
        called = httpx.post(url, json=body, headers={"X-Plugyard-Trigger-Secret": secret})
        assert called.status_code == 202, called.text
        assert called.json()["type"] == "plugin.deploy-tracker.trigger.deployed"
        ws.runs(iid, n)  # one call at a time, so "previous" is well defined
    assert httpx.post(url, json={}, headers={"X-Plugyard-Trigger-Secret": "pyt_wrong"}).status_code == 401

    records = ws.runs(iid, 3)
    assert [(r["status"], r["entrypoint"]) for r in records] == [
        ("succeeded", "on_trigger_deployed"),
        ("succeeded", "on_trigger_deployed"),
        ("failed", "on_trigger_deployed"),
    ], records
    assert "version" in records[2]["error"]["message"]
    now = ws.invoke(iid, {"environment": "production"})["result"]
    assert {k: now["services"]["api"][k] for k in ("version", "previous")} == {"version": "1.4.2", "previous": "1.4.1"}
    announced = wait_for(lambda: len(posts) >= 2 and posts, "two deliveries of plugin.deploy-tracker.deployed")
    assert sorted((body["data"]["version"], body["data"]["previous"]) for _, body in announced) == [
        ("1.4.1", None),
        ("1.4.2", "1.4.1"),
    ]
    assert {(body["type"], body["source"]) for _, body in announced} == {
        ("plugin.deploy-tracker.deployed", "plugyard.plugin.deploy-tracker")
    }


def test_the_seeded_zips_hold_no_tests_and_pass_the_upload_scan_without_a_finding() -> None:
    # What we tell publishers to write: nothing a reviewer's scan report would flag.
    from chalicelib.domain.scan import scan_artifact

    for folder in FOLDERS:
        data = build_plugin_zip(folder)
        names = zipfile.ZipFile(BytesIO(data)).namelist()
        assert "plugyard.json" in names and "README.md" in names
        assert not [n for n in names if Path(n).name.startswith("test_")], folder.name
        report = scan_artifact(data)
        assert (report.status, report.findings) == ("passed", []), (folder.name, report)
