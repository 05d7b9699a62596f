"""Every example plugin in examples/plugins, published signed, installed and driven through its documented triggers.

Runs on its own local stack (moto, API, queue workers, real bubblewrap sandbox) where ``ctx.http.fetch`` may
reach loopback, so the Slack notifier's post lands on a receiver in this test. Each plugin's zip is built
from its folder exactly as ``make run`` seeds it; only the Slack notifier's ``http.allowed_hosts`` is
pointed at that receiver instead of hooks.slack.com (there is no network here).
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from plugin_harness import Deployed, Harness, own_stack

from chalicelib.local.packaging import build_plugin_zip

pytestmark = pytest.mark.stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"

if shutil.which("bwrap") is None:
    pytest.skip("bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap", allow_module_level=True)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    fetch_to_loopback = {"PLUGYARD_HTTP_FETCH_ALLOW_PRIVATE": "true", "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "false"}
    with own_stack(fetch_to_loopback) as stack:
        h = Harness(stack, stack.operator_services(), publisher_id="plugyard-labs")
        yield h
        h.close()


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
def slack() -> Iterator[tuple[int, list[tuple[str, dict[str, Any]]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.posts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], _Receiver.posts
    server.shutdown()


def publish_example(harness: Harness, name: str, patch: Callable[[dict[str, Any]], None] | None = None) -> str:
    """Publish examples/plugins/<name> as ``make run`` seeds it (manifest optionally patched); returns its id."""
    data = build_plugin_zip(EXAMPLES / name)
    man = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("plugyard.json"))
    if patch is not None:
        patch(man)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                raw = json.dumps(man).encode() if item.filename == "plugyard.json" else src.read(item)
                dst.writestr(item, raw)
        data = out.getvalue()
    if (man["id"], man["version"]) not in harness.digests:
        harness.publish_zip(data, man["id"], man["version"])
    return str(man["id"])


def run_task(d: Deployed, title: str, finish: str = "complete", **body: Any) -> str:
    """Create a task, run it and complete (or fail) it: the host emits task.completed / task.failed."""
    task = d.client.post("/api/tasks", json={"title": title})
    assert task.status_code == 201, task.text
    task_id = task.json()["task_id"]
    assert d.client.post(f"/api/tasks/{task_id}/run").status_code == 200
    done = d.client.post(f"/api/tasks/{task_id}/{finish}", json=body)
    assert done.status_code == 200, done.text
    return str(task_id)


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout_s} s")


def test_hello_world_greets_on_invoke(harness: Harness) -> None:
    plugin_id = publish_example(harness, "hello-world")
    d = harness.install(plugin_id, [], workspace=harness.workspace(), config={"greeting": "Hi"})
    out = d.invoke({"name": "Ada"})
    assert (out["status"], out["result"]) == ("succeeded", {"message": "Hi, Ada!"}), out
    plain = harness.install(plugin_id, [], workspace=harness.workspace())
    assert plain.invoke({})["result"] == {"message": "Hello, world!"}


def test_slack_notifier_posts_on_completed_and_failed_tasks(
    harness: Harness, slack: tuple[int, list[tuple[str, dict[str, Any]]]]
) -> None:
    port, posts = slack

    def to_receiver(man: dict[str, Any]) -> None:
        man["http"]["allowed_hosts"] = ["127.0.0.1"]

    plugin_id = publish_example(harness, "slack-notifier", to_receiver)
    hook = f"http://127.0.0.1:{port}/services/T000/B000/secret"
    d = harness.install(
        plugin_id,
        ["http:fetch", "tasks:read"],
        workspace=harness.workspace(),
        config={"channel": "#ops", "webhook_url": hook},
    )
    run_task(d, "deploy api", "complete", result={"ok": True})
    run_task(d, "migrate db", "fail", reason="lock timeout")
    wait_for(lambda: len(posts) >= 2, "two Slack posts")
    assert sorted(body["text"] for _, body in posts) == [
        "#ops: task 'deploy api' completed",
        "#ops: task 'migrate db' failed",
    ]
    assert {path for path, _ in posts} == {"/services/T000/B000/secret"}
    records = wait_for(lambda: len(d.invocations()) == 2 and d.invocations(), "two invocation records")
    assert [r["status"] for r in records] == ["succeeded", "succeeded"]
    assert all(r["trigger"] == "event" for r in records)
    shown = d.client.get(f"/api/installations/{d.installation_id}").json()
    assert hook not in json.dumps(shown) and shown["secret_fields"] == ["webhook_url"]


def test_task_summarizer_annotates_every_completed_task(harness: Harness) -> None:
    plugin_id = publish_example(harness, "task-summarizer")
    grant = ["ai:complete", "storage:read", "storage:write", "tasks:read", "tasks:write"]
    d = harness.install(plugin_id, grant, workspace=harness.workspace(), config={"max_words": 12})
    task_id = run_task(d, "Write the quarterly report for the board", result={"pages": 12})

    def summary() -> str | None:
        task = d.client.get(f"/api/tasks/{task_id}").json()
        notes = [a for a in task["annotations"] if a.get("plugin") == "task-summarizer"]
        return notes[0]["summary"] if notes else None

    text = wait_for(summary, "the summary annotation")
    assert "quarterly report" in text and len(text.split()) <= 12
    [record] = wait_for(d.invocations, "the invocation record")
    assert (record["status"], record["trigger"], record["entrypoint"]) == ("succeeded", "event", "on_completed")
    # Invoked directly, it answers the summary text (not the whole AI reply) and leaves the task alone.
    out = d.invoke({"task_id": task_id})
    assert out["status"] == "succeeded" and isinstance(out["result"]["summary"], str), out
    assert out["result"]["task_id"] == task_id
    annotations = d.client.get(f"/api/tasks/{task_id}").json()["annotations"]
    assert [a["plugin"] for a in annotations if "plugin" in a] == ["task-summarizer"]


def test_every_example_has_a_test_here() -> None:
    tested = {"hello-world", "slack-notifier", "task-summarizer"}
    assert {p.name for p in EXAMPLES.iterdir() if (p / "plugyard.json").exists()} == tested
    assert httpx  # the module's clients come from the harness
