"""The user guide's screenshots: start `make run` on free ports, give its demo workspace a little history through
the API, drive the console in Chromium at 1280×800 and save one PNG per main view into docs/images/.

    make screenshots          # or: python -m tests.e2e.console.screenshots [--out DIR] [--only NAME ...]

Every run starts from the same freshly seeded stack and does the same things, so the pictures show the same
plugins, installations, webhooks and records each time (only dates and ids differ). A view is captured once its
page shows what it waits for; a step that fails stops the run with the view's name (nothing is half-written:
each PNG is written whole, after its page is ready). Images over MAX_BYTES are refused: crop the view instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.local.packaging import build_plugin_zip
from chalicelib.local.seed import EXAMPLES, public_key_b64, publish_zip
from chalicelib.local.stack import free_port
from tests.make_run_stack import banner_value, running_stack

from ..browsers import Driver, launch

ROOT = Path(__file__).resolve().parents[3]
IMAGES = ROOT / "docs" / "images"
WIDTH, HEIGHT = 1280, 800
MAX_BYTES = 150 * 1024
ADMIN_KEY = "pyk_dev_screenshots"


@dataclass
class Stack:
    api: str
    key: str
    reviewer: str

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        got = httpx.request(
            method, f"{self.api}{path}", json=body, headers={"Authorization": f"Bearer {key or self.key}"}, timeout=60
        )
        if got.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {got.status_code} {got.text}")
        return got.json() if got.content else None


@contextmanager
def make_run() -> Iterator[Stack]:
    """`make run` (python -m chalicelib.local.stack) on free ports, until its banner; stopped with Ctrl-C after."""
    settings = {
        "PLUGYARD_PORT": str(free_port()),
        "PLUGYARD_MOTO_PORT": str(free_port()),
        "PLUGYARD_LIVE_PORT": str(free_port()),
        "PLUGYARD_DEV_API_KEY": ADMIN_KEY,
        "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    with running_stack(settings, wait_s=180) as (_, text, _output):
        yield Stack(
            api=banner_value("API", text),
            key=banner_value("Admin API key", text),
            reviewer=banner_value("Reviewer key", text),
        )


def install(stack: Stack, plugin_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """Install the newest approved version, granting every scope it asks for."""
    plugin = stack.call("GET", f"/api/plugins/{plugin_id}")
    version = next(v for v in plugin["versions"] if v["state"] == "approved")
    grant = [p["scope"] for p in version["permissions"]]
    body = {"plugin_id": plugin_id, "version": version["version"], "grant": grant, "config": config}
    installed: dict[str, Any] = stack.call("POST", "/api/plugins/install", body)
    return installed


def publish_hello(stack: Stack, version: str, permissions: list[str], changelog: str) -> None:
    """A new version of the example hello-world, published and signed as its publisher does."""
    signing_key = Ed25519PrivateKey.generate()
    stack.call("POST", "/api/publisher/keys", {"public_key": public_key_b64(signing_key)})
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "hello-world"
        shutil.copytree(EXAMPLES / "hello-world", folder)
        manifest = json.loads((folder / "plugyard.json").read_text())
        manifest.update(version=version, permissions=permissions, changelog=changelog)
        (folder / "plugyard.json").write_text(json.dumps(manifest))
        headers = {"Authorization": f"Bearer {stack.key}"}
        with httpx.Client(base_url=stack.api, headers=headers, timeout=60) as client:
            sent = publish_zip(client, build_plugin_zip(folder), signing_key)
    if sent.status_code != 201:
        raise RuntimeError(f"publishing hello-world {version}: {sent.status_code} {sent.text}")


def finished_task(stack: Stack, title: str) -> None:
    """A task run and completed, once both task plugins have written onto it (a summary, labels)."""
    task_id = stack.call("POST", "/api/tasks", {"title": title})["task_id"]
    stack.call("POST", f"/api/tasks/{task_id}/run")
    stack.call("POST", f"/api/tasks/{task_id}/complete", {"result": {"pages": 3}})
    deadline = time.monotonic() + 60
    while {a.get("plugin") for a in stack.call("GET", f"/api/tasks/{task_id}")["annotations"]} < {
        "task-summarizer",
        "task-labeller",
    }:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the task plugins wrote nothing onto task {task_id} within 60 s")
        time.sleep(0.2)


def history(stack: Stack) -> None:
    """What an admin's first hour leaves behind: plugins installed (one paused, one invoked twice), tasks the
    plugins act on, a webhook pinged once, a teammate's key, new hello-world versions (one approved, one waiting)."""
    notifier = install(
        stack, "slack-notifier", {"channel": "#ops", "webhook_url": "https://hooks.slack.com/services/T0/B0/X"}
    )
    stack.call(
        "POST", f"/api/installations/{notifier['installation_id']}/disable", {"reason": "paused during an incident"}
    )
    install(stack, "task-summarizer", {"max_words": 12})
    install(stack, "task-labeller", {})
    finished_task(stack, "Fix the crash in the release guide")  # the first task listed: its page is pictured
    for title, steps in (("Write the release notes", []), ("Deploy the API", ["run"])):
        task = stack.call("POST", "/api/tasks", {"title": title})
        for step in steps:
            stack.call("POST", f"/api/tasks/{task['task_id']}/{step}")
    hook = stack.call(
        "POST",
        "/api/webhooks/register",
        {"url": "http://127.0.0.1:9000/hooks/plugyard", "event_types": ["plugin.installed", "task.completed"]},
    )
    stack.call("POST", f"/api/webhooks/{hook['webhook_id']}/test")  # nothing listens there: a failed attempt
    stack.call("POST", "/api/keys", {"name": "ci bot", "role": "member"})
    hello = install(stack, "hello-world", {"greeting": "Hi"})
    for name in ("Ada", "Grace"):
        stack.call("POST", f"/api/installations/{hello['installation_id']}/invoke", {"payload": {"name": name}})
    # A newer version asking for more (approved: the installation offers it with what it adds), and one still
    # waiting for review.
    publish_hello(stack, "1.1.0", ["storage:read"], "Remembers the last name it greeted.")
    stack.call("POST", "/api/review/hello-world/1.1.0/approve", {"reason": "reads only its own data"}, stack.reviewer)
    publish_hello(stack, "1.2.0", ["storage:read", "storage:write"], "Keeps a count of greetings.")


@dataclass
class Shot:
    """One picture: the console at ``hash``, once ``ready`` (a CSS selector) is on the page, after ``then``."""

    name: str
    hash: str
    ready: str
    then: Callable[[Driver], None] | None = None
    key: str = "admin"  # or "reviewer"
    height: int = HEIGHT  # a dense view is cropped shorter to stay under MAX_BYTES


def _fill_install(driver: Driver) -> None:
    driver.run("document.querySelector('form.install').scrollIntoView({block: 'start'})")
    for box in driver.run("return [...document.querySelectorAll('input[name=grant]')].map((b) => b.value)"):
        driver.click(f"input[name=grant][value='{box}']")
    driver.type("input[name=channel]", "#releases")


def _open_installation(plugin_id: str, scroll_to: str = "") -> Callable[[Driver], None]:
    def then(driver: Driver) -> None:
        driver.click(f".installation[data-plugin='{plugin_id}'] a[href^='#/installed/']")
        driver.wait_for(".invocation")
        driver.wait("return !document.querySelector('[aria-busy=true]')", what="nothing still loading")
        if scroll_to:
            driver.run(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'}); window.scrollBy(0, -70)",
                scroll_to,
            )

    return then


def _open_task(driver: Driver) -> None:
    driver.click("#task-list .task a")
    driver.wait_for("#plugin-output .annotation .summary")
    driver.wait("return document.querySelector('#live-status').dataset.state === 'open'", what="live updates on")


def _open(link: str, ready: str) -> Callable[[Driver], None]:
    """Follow a link of the page, as a user does, and wait for what the next page shows."""

    def then(driver: Driver) -> None:
        driver.click(link)
        driver.wait_for(ready)
        driver.wait("return !document.querySelector('[aria-busy=true]')", what="nothing still loading")

    return then


def _scrolled(css: str) -> Callable[[Driver], None]:
    """The part of a long page that matters, at the top of the picture."""
    return lambda driver: driver.run("document.querySelector(arguments[0]).scrollIntoView({block: 'start'})", css)


def _verify(driver: Driver) -> None:
    driver.click("button[name=verify]")
    driver.wait("return !!document.querySelector('#verify-result').dataset.ok", what="the chain verified")


SHOTS = [
    Shot("console-sign-in", "", "input[name=api-key]"),
    Shot("console-marketplace", "#/marketplace", ".plugin-card"),
    Shot("console-plugin", "#/plugin/slack-notifier", ".permissions"),
    Shot("console-install", "#/plugin/slack-notifier", "form.install", _fill_install),
    Shot("console-installed", "#/installed", ".installation"),
    Shot("console-installation", "#/installed", ".installation", _open_installation("hello-world", ".upgrades")),
    Shot("console-tasks", "#/tasks", "#task-list .task"),
    Shot("console-task", "#/tasks", "#task-list .task", _open_task),
    Shot("console-webhooks", "#/webhooks", ".card.webhook"),
    Shot("console-webhook-log", "#/webhooks", ".card.webhook", _open(".card.webhook h3 a", ".card.delivery")),
    Shot("console-publisher", "#/publisher", ".publisher-plugin", _scrolled(".publisher-plugins")),
    Shot("console-review", "#/review", ".queue-item", key="reviewer"),
    Shot("console-review-report", "#/review", ".queue-item", _open(".queue-item h3 a", ".card.decision"), "reviewer"),
    Shot("console-audit", "#/audit", "table.audit-log", _verify, height=660),
    Shot("console-problem", "#/plugin/nope", "#alerts .problem-title"),
]


def capture(driver: Driver, stack: Stack, shot: Shot, out: Path) -> Path:
    key = stack.key if shot.key == "admin" else stack.reviewer
    driver.resize(WIDTH, shot.height)
    driver.goto(f"{stack.api}/console")
    driver.run("sessionStorage.clear()")
    if shot.hash:
        driver.goto(f"{stack.api}/console")
        driver.wait_for("input[name=api-key]")
        driver.type("input[name=api-key]", key, enter=True)
        driver.wait_for("#nav a")
        driver.goto(f"{stack.api}/console{shot.hash}")
    else:
        driver.reload()
    driver.wait_for(shot.ready)
    driver.wait("return !document.querySelector('[aria-busy=true]')", what="nothing still loading")
    if shot.then:
        shot.then(driver)
    driver.run("document.activeElement && document.activeElement.blur()")  # no focus ring in the picture
    path = out / f"{shot.name}.png"
    driver.screenshot(path, full_page=False)  # type: ignore[call-arg]  # Chromium's adapter: the view only
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise RuntimeError(f"{path.name} is {size // 1024} KB, over {MAX_BYTES // 1024} KB: crop the view")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help="folder for the PNGs (default docs/images)")
    parser.add_argument("--only", nargs="*", default=None, help="only these shots, by name")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    shots = [s for s in SHOTS if args.only is None or s.name in args.only]
    started = time.monotonic()
    with make_run() as stack:
        history(stack)
        driver = launch("chromium")
        try:
            for shot in shots:
                try:
                    path = capture(driver, stack, shot, args.out)
                except Exception as exc:
                    raise SystemExit(f"{shot.name}: {exc}") from exc
                print(
                    f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} KB"
                )
        finally:
            driver.close()
    print(f"{len(shots)} screenshots in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
