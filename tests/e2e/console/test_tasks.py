"""The console's task view and extension panel in real browsers against the shared `make run` stack.

A member of a workspace with task-summarizer and task-labeller installed (through the API) pages through the
tasks, creates one, runs a plugin's task action on it, runs and completes it, and sees what the plugins write
onto the completed task appear on the open page over the live WebSocket, without a reload; a socket that
drops is reported and reopened. Each step is checked against the API's own answer.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from make_run_stack import MakeRun

from ..browsers import Driver
from .conftest import Workspace, assert_accessible, create_workspace

PLUGINS = ("task-summarizer", "task-labeller")
PAGE_SIZE = 20  # the task list's page size (chalicelib/console/tasks.js)
# Counts the sockets the page opens (the global the console's live module uses), so the test can drop one.
TRACK_SOCKETS = """
if (!window.__sockets) {
  window.__sockets = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
}
return true;
"""


def _post(ws: Workspace, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = httpx.post(f"{ws.api}{path}", json=body or {}, headers=ws.auth, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.fixture(scope="module")
def tasks_workspace(make_run: MakeRun) -> tuple[Workspace, Workspace]:
    """A workspace of its own (admin, member) with both task plugins installed, and more than a page of tasks."""
    admin = create_workspace(make_run, "Task view tests")
    for plugin_id in PLUGINS:
        latest = admin.get(f"/api/plugins/{plugin_id}").json()["versions"][0]
        grant = [p["scope"] for p in latest["permissions"]]
        _post(admin, "/api/plugins/install", {"plugin_id": plugin_id, "grant": grant, "config": {}})
    for n in range(PAGE_SIZE + 1):
        _post(admin, "/api/tasks", {"title": f"Backlog item {n:02d}"})
    member_key = _post(admin, "/api/keys", {"name": "console member", "role": "member"})["key"]
    return admin, Workspace(admin.workspace_id, member_key, admin.api)


def task_ids(driver: Driver) -> list[str]:
    return list(driver.run("return [...document.querySelectorAll('#task-list .task')].map((t) => t.dataset.task)"))


def wait_task_ids(driver: Driver, expected: list[str]) -> None:
    driver.wait(
        "const got = [...document.querySelectorAll('#task-list .task')].map((t) => t.dataset.task);"
        "return document.querySelector('#task-list').getAttribute('aria-busy') === 'false' && "
        "JSON.stringify(got) === JSON.stringify(arguments[0])",
        expected,
        what=f"the tasks {expected[:3]}… (showing {task_ids(driver)[:3]}…)",
    )


def live_state(driver: Driver, state: str, timeout: float = 15.0) -> None:
    driver.wait(
        "return document.querySelector('#live-status')?.dataset.state === arguments[0]",
        state,
        timeout=timeout,
        what=f"live status {state}",
    )


def shown_annotations(driver: Driver) -> dict[str, str]:
    script = (
        "return Object.fromEntries([...document.querySelectorAll('#plugin-output .annotation')]"
        ".map((a) => [a.dataset.plugin, a.innerText]))"
    )
    return dict(driver.run(script))


@pytest.mark.timeout(300)
def test_tasks_actions_and_live_plugin_output(
    browser: Driver, make_run: MakeRun, tasks_workspace: tuple[Workspace, Workspace]
) -> None:
    _, member = tasks_workspace
    api = make_run.api
    title = f"Fix the release guide {uuid.uuid4().hex[:6]}"
    with browser.screenshot_on_failure("tasks"):
        browser.goto(f"{api}/console")
        browser.run("sessionStorage.clear()")
        browser.goto(f"{api}/console")
        browser.wait_for("input[name=api-key]")  # the modules have run and drawn the sign-in form
        browser.type("input[name=api-key]", member.key, enter=True)
        browser.wait_for(".plugin-card")
        assert f"{member.workspace_id} · member" in browser.text("#who")
        browser.run(TRACK_SOCKETS)
        browser.run("window.__sameDocument = true")  # gone if anything reloads the page

        # The list, paged: the API's first page, then its second.
        browser.click("#nav a[data-nav='#/tasks']")
        first = member.get("/api/tasks", limit=PAGE_SIZE).json()
        wait_task_ids(browser, [t["task_id"] for t in first["items"]])
        assert first["next_token"], "the fixture made more than a page of tasks"
        assert_accessible(browser, "tasks")
        browser.click("button[name=next]")
        second = member.get("/api/tasks", limit=PAGE_SIZE, next_token=first["next_token"]).json()
        wait_task_ids(browser, [t["task_id"] for t in second["items"]])
        assert browser.text(".page-number") == "Page 2"
        browser.click("button[name=previous]")
        wait_task_ids(browser, [t["task_id"] for t in first["items"]])

        # Create: typed and submitted from the keyboard; the console opens the new task's page.
        browser.type("input[name=title]", title, enter=True)
        browser.wait_text(".task-page h1", title)
        task_id = browser.run("return document.querySelector('.task-page').dataset.task")
        assert member.get(f"/api/tasks/{task_id}").json()["title"] == title
        assert browser.run("return location.hash") == f"#/tasks/{task_id}"
        current = "return document.querySelector(\"#nav a[data-nav='#/tasks']\").getAttribute('aria-current')"
        assert browser.run(current) == "page"
        live_state(browser, "open")

        # The actions the installed plugins offer: exactly the panel's, as buttons.
        panel = member.get(f"/api/tasks/{task_id}/panel").json()
        buttons = "return [...document.querySelectorAll('.task-actions button')].map((b) => b.dataset.action)"
        offered = browser.run(buttons)
        assert sorted(offered) == sorted(f"{a['plugin_id']}:{a['action']}" for a in panel["actions"])
        assert "task-labeller:suggest-labels" in offered and "task-summarizer:summarize" in offered
        assert_accessible(browser, "task page")

        # Run one: the labeller's suggestion for this title, as the recorded invocation says.
        browser.click("button[data-action='task-labeller:suggest-labels']")
        browser.wait_text("#action-output", "succeeded", timeout=30)
        shown = json.loads(browser.text("#action-output pre"))
        invocation_id = browser.run("return document.querySelector('#action-output pre').dataset.invocation")
        labeller = next(a for a in panel["actions"] if a["plugin_id"] == "task-labeller")
        runs = member.get(f"/api/installations/{labeller['installation_id']}/invocations").json()["items"]
        record = next(r for r in runs if r["invocation_id"] == invocation_id)
        assert record["status"] == "succeeded" and record["entrypoint"] == "main"
        assert shown == {"labels": ["bug", "docs", "release"]}

        # The socket drops: the panel says so, then reconnects on a fresh ticket.
        browser.run("window.__sockets.at(-1).close()")
        live_state(browser, "retrying")
        assert "reconnecting" in browser.text("#live-status")
        live_state(browser, "open")
        assert browser.run("return window.__sockets.length") >= 2

        # Run, then complete: the plugins react to task.completed, and their output arrives live.
        browser.click("button[name=run]")
        browser.wait_text("#task-state", "running")
        browser.click("button[name=complete]")
        browser.wait_text("#task-state", "completed")
        browser.wait(
            "const a = [...document.querySelectorAll('#plugin-output .annotation')].map((n) => n.dataset.plugin);"
            "return a.includes('task-summarizer') && a.includes('task-labeller') && "
            "!!document.querySelector(\"#plugin-output .annotation[data-plugin='task-summarizer'] .summary\")",
            timeout=45,
            what="the summarizer's and the labeller's output on the page",
        )
        assert browser.run("return window.__sameDocument === true"), "the page was reloaded"
        stored = member.get(f"/api/tasks/{task_id}").json()
        assert stored["status"] == "completed"
        notes = {a["plugin"]: a for a in stored["annotations"] if "plugin" in a}
        page = shown_annotations(browser)
        assert set(page) == set(notes) == set(PLUGINS)
        assert notes["task-summarizer"]["summary"] in page["task-summarizer"]
        for label in notes["task-labeller"]["labels"]:
            assert label in page["task-labeller"]
        assert_accessible(browser, "task page with plugin output")

        # Usable at 360 px: nothing wider than the screen.
        browser.resize(360, 800)
        browser.wait("return document.documentElement.scrollWidth <= window.innerWidth + 1", what="no sideways scroll")
        browser.resize(1440, 900)
