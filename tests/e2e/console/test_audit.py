"""The console's audit view in real browsers: the workspace's records filtered by actor, action, target and a time
window, paged, and the chain verified, intact and then tampered with, each compared with the API's own answer."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest
from make_run_stack import MakeRun

from ..browsers import Driver
from .conftest import Workspace, assert_accessible, create_workspace
from .test_console import sign_in

ROWS = "return [...document.querySelectorAll('table.audit-log tbody tr')].map((r) => r.dataset.seq)"


def rows(driver: Driver) -> list[str]:
    return list(driver.run(ROWS))


def wait_rows(driver: Driver, expected: list[str]) -> None:
    """The table shows exactly these records (or the empty message when none), in this order."""
    driver.wait(
        f"const got = (function () {{ {ROWS} }})(); "
        "const box = document.querySelector('#audit-results');"
        "return box && box.getAttribute('aria-busy') === 'false'"
        " && JSON.stringify(got) === JSON.stringify(arguments[0]) && (got.length > 0 || !!box.querySelector('.empty'))",
        expected,
        what=f"the records {expected} (showing {rows(driver)})",
    )


def seqs(ws: Workspace, **params: Any) -> list[str]:
    """The API's answer to the same question: the records' seqs, newest first."""
    resp = ws.get("/api/audit", **{"limit": 25, **params})
    assert resp.status_code == 200, resp.text
    return [r["seq"] for r in resp.json()["items"]]


def post(ws: Workspace, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or ws.key}"}
    return httpx.post(f"{ws.api}{path}", json=body, headers=headers, timeout=30)


def a_workspace_with_history(make_run: MakeRun, engine: str) -> tuple[Workspace, str]:
    """A workspace of its own (its chain is tampered with below) whose log has three actors, several actions,
    a denied outcome and detail; returns it and the second admin's actor."""
    ws = create_workspace(make_run, f"Audit view {engine}")
    second = post(ws, "/api/keys", {"name": "second admin", "role": "admin"})
    member = post(ws, "/api/keys", {"name": "a member", "role": "member"})
    assert second.status_code == member.status_code == 201, second.text + member.text
    hook = {"url": "http://127.0.0.1:9/hooks/audit-view", "event_types": ["plugin.installed"]}
    assert post(ws, "/api/webhooks/register", hook, key=second.json()["key"]).status_code == 201
    install = {"plugin_id": "hello-world", "version": "1.0.0", "grant": []}
    assert post(ws, "/api/plugins/install", install, key=member.json()["key"]).status_code == 403
    assert post(ws, "/api/plugins/install", install, key=second.json()["key"]).status_code == 201
    return ws, f"key:{second.json()['key_id']}"


def tamper(make_run: MakeRun, ws: Workspace, seq: str) -> None:
    """Rewrite one record's target straight in the AuditLog table, as someone with table access but no key could."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=make_run.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (table,) = [t for t in dynamodb.list_tables()["TableNames"] if t.endswith("audit-log")]
    key = {"workspace_id": {"S": ws.workspace_id}, "seq": {"S": seq}}
    doc = json.loads(dynamodb.get_item(TableName=table, Key=key)["Item"]["doc"]["S"])
    doc["target"] = "someone-else"
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #d = :d, #t = :t",
        ExpressionAttributeNames={"#d": "doc", "#t": "target"},
        ExpressionAttributeValues={":d": {"S": json.dumps(doc)}, ":t": {"S": "someone-else"}},
    )


@pytest.mark.timeout(240)
def test_audit_filters_pages_and_verifies(browser: Driver, make_run: MakeRun) -> None:
    ws, second = a_workspace_with_history(make_run, browser.engine)
    api = make_run.api
    everything = ws.get("/api/audit", limit=100).json()["items"]
    assert len(everything) >= 6 and {r["outcome"] for r in everything} >= {"success", "denied"}
    with browser.screenshot_on_failure("audit"):
        sign_in(browser, api, ws.key)
        browser.click("#nav a[href='#/audit']")
        wait_rows(browser, seqs(ws))
        newest = everything[0]
        row = browser.text(f"tr[data-seq='{newest['seq']}']")
        assert newest["action"] in row and newest["actor"] in row and newest["outcome"] in row
        assert_accessible(browser, "audit log")

        # Each filter is the API's own: the table shows what GET /api/audit answers to the same query.
        browser.type("input[name=actor]", second, enter=True)
        wait_rows(browser, seqs(ws, actor=second))
        assert f"actor={second}" in browser.run("return decodeURIComponent(location.hash)")
        browser.type("input[name=actor]", "")
        browser.type("input[name=action]", "plugin.install", enter=True)
        installs = seqs(ws, action="plugin.install")
        wait_rows(browser, installs)
        assert len(installs) == 2  # the member's denied attempt and the second admin's install
        denied = next(r for r in everything if r["action"] == "plugin.install" and r["outcome"] == "denied")
        assert "denied" in browser.text(f"tr[data-seq='{denied['seq']}']")
        # A record's target is a link to the log narrowed to it (the action filter kept).
        browser.click(f"tr[data-seq='{installs[0]}'] td[data-label=Target] a")
        target = next(r["target"] for r in everything if r["seq"] == installs[0])
        wait_rows(browser, seqs(ws, action="plugin.install", target=target))
        assert browser.run("return document.querySelector('input[name=target]').value") == target

        # A time window, its bounds included, as the API reads it.
        since, until = everything[-2]["time"], everything[2]["time"]
        browser.goto(f"{api}/console#/audit")
        browser.type("input[name=since]", since)
        browser.type("input[name=until]", until, enter=True)
        window = seqs(ws, since=since, until=until)
        wait_rows(browser, window)
        assert window == [r["seq"] for r in everything[2:-1]]

        # A time the API refuses: its problem, title and detail, and no stale records.
        browser.type("input[name=since]", "yesterday", enter=True)
        refused = ws.get("/api/audit", since="yesterday", until=until, limit=25)
        assert refused.status_code == 400, refused.text
        browser.wait_text("#alerts .problem-title", refused.json()["title"])
        assert browser.text("#alerts .problem-detail") == refused.json()["detail"]
        assert rows(browser) == []

        # Pages of two: Older shows the API's second page, Newer the first again.
        browser.goto(f"{api}/console#/audit?limit=2")
        first = ws.get("/api/audit", limit=2).json()
        wait_rows(browser, [r["seq"] for r in first["items"]])
        browser.click("button[name=next]")
        second_page = ws.get("/api/audit", limit=2, next_token=first["next_token"]).json()["items"]
        wait_rows(browser, [r["seq"] for r in second_page])
        assert browser.text(".page-number") == "Page 2"
        browser.click("button[name=previous]")
        wait_rows(browser, [r["seq"] for r in first["items"]])

        # Verify the chain: intact, with the API's count; then a record rewritten in the table is found.
        browser.click("button[name=verify]")
        browser.wait("return document.querySelector('#verify-result').dataset.ok === 'true'", what="verify ok")
        intact = ws.get("/api/audit/verify").json()
        assert intact["ok"] and f"{intact['checked']} records checked" in browser.text("#verify-result")
        assert_accessible(browser, "audit log, chain verified")

        tamper(make_run, ws, everything[3]["seq"])
        broken = ws.get("/api/audit/verify").json()
        assert not broken["ok"] and broken["first_bad_seq"] == everything[3]["seq"], broken
        browser.click("button[name=verify]")
        browser.wait("return document.querySelector('#verify-result').dataset.ok === 'false'", what="verify broken")
        shown = browser.text("#verify-result")
        assert f"breaks at record {int(broken['first_bad_seq'])}" in shown and broken["reason"] in shown
        assert (
            browser.run("return document.querySelector('#verify-result').dataset.firstBadSeq")
            == broken["first_bad_seq"]
        )

        # Usable at 360 px (as wide as each engine's headless view allows): the records stack, no sideways scroll.
        browser.resize(360, 800)
        browser.wait("return document.documentElement.scrollWidth <= window.innerWidth + 1", what="no sideways scroll")
        assert_accessible(browser, "audit log at 360 px")
        browser.resize(1440, 900)
