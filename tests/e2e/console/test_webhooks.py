"""The webhook configurator in real browsers (Chromium, Firefox ESR, WebKit) against the shared `make run` stack.

An admin registers an endpoint on a loopback receiver of the test's own (chalicelib/local/receiver.py), choosing
event types from the catalog (a type's schema opened on the page); the signing secret shown once is the one the
receiver's deliveries verify with (standardwebhooks). From the endpoint's page: a test ping, its attempt in the
delivery log, a redelivery, a failing ping recovered, paging, a rotation (the new secret verifies the next ping),
disable and enable, and a delete after a confirmation. Each step is checked against the API's own answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from make_run_stack import MakeRun
from standardwebhooks.webhooks import Webhook as StandardWebhook

from chalicelib.local.receiver import Answer, Received, Receiver

from ..browsers import Driver
from .conftest import Workspace, assert_accessible
from .test_console import sign_in

TYPES = ["plugin.installed", "task.completed"]


def wait_requests(receiver: Receiver, path: str, count: int, timeout: float = 20.0) -> list[Received]:
    """The receiver's requests on ``path`` once there are ``count`` (the deliverer worker sends them)."""
    deadline = time.monotonic() + timeout
    while len(got := receiver.requests_to(path)) < count:
        assert time.monotonic() < deadline, f"{len(got)} of {count} deliveries arrived"
        time.sleep(0.05)
    return got


def verify(secret: str, received: Received) -> dict[str, Any]:
    """What a receiver does: the signature over the raw body, with the secret the page showed."""
    payload: dict[str, Any] = StandardWebhook(secret).verify(
        received.body, {k.lower(): v for k, v in received.headers.items()}
    )
    return payload


def attempt_line(a: dict[str, Any]) -> str:
    answer = f"HTTP {a['status_code']}" if a["status_code"] else a["error"]
    return f"{answer} in {int(a['latency_ms'] + 0.5)} ms"  # JavaScript's Math.round


@pytest.mark.timeout(240)
def test_register_ping_log_redeliver_recover_rotate_disable_delete(
    browser: Driver, make_run: MakeRun, console_workspace: Workspace
) -> None:
    ws, api = console_workspace, make_run.api
    catalog = {t["type"]: t for t in ws.get("/api/events/catalog").json()["types"]}
    with Receiver() as receiver, browser.screenshot_on_failure("webhooks"):
        path = f"/hooks/{browser.engine}"
        url = receiver.url + path
        sign_in(browser, api, ws.key)
        browser.click("#nav a[href='#/webhooks']")
        browser.wait_for("form.register")
        # Every asynchronous type of the catalog is offered, each with its schema a click away.
        offered = browser.run("return [...document.querySelectorAll('input[name=event_types]')].map((i) => i.value)")
        assert offered == [t for t, e in catalog.items() if e["delivery"] == "async"]
        browser.click("li.event-type:has(input[value='task.completed']) summary")
        schema = browser.text("li.event-type:has(input[value='task.completed']) pre")
        assert json.loads(schema) == catalog["task.completed"]["data_schema"]
        assert_accessible(browser, "webhooks")

        # A type the catalog does not know: the API's problem, its title and detail as the API answers them.
        browser.type("input[name=url]", url)
        browser.click("form.register button[type=submit]")  # no event type yet: said inline, nothing sent
        browser.wait_text("#event-types-error", "Choose at least one event type.")
        assert [w for w in ws.get("/api/webhooks").json()["items"] if w["url"] == url] == []
        for t in TYPES:
            browser.click(f"input[name=event_types][value='{t}']")
        browser.type("input[name=more_event_types]", "nope.not-a-type")
        browser.click("form.register button[type=submit]")
        refused = httpx.post(
            f"{api}/api/webhooks/register",
            json={"url": url, "event_types": [*TYPES, "nope.not-a-type"]},
            headers=ws.auth,
            timeout=30,
        )
        assert refused.status_code == 422, refused.text
        browser.wait_text("#alerts .problem-title", refused.json()["title"])
        assert browser.text("#alerts .problem-detail") == refused.json()["detail"]

        browser.type("input[name=more_event_types]", "")
        browser.type("input[name=description]", f"console e2e on {browser.engine}")
        browser.click("form.register button[type=submit]")
        browser.wait_for("#secret-value")
        secret = str(browser.run("return document.querySelector('#secret-value').value"))
        (hook,) = [w for w in ws.get("/api/webhooks").json()["items"] if w["url"] == url]
        assert secret.startswith("whsec_") and hook["event_types"] == TYPES and "secret" not in hook
        assert browser.text("#webhooks-status") == f"Registered {url}."
        browser.click("button[name=copy-secret]")
        copied = browser.wait("return document.querySelector('#secret-copied').innerText", what="the copy's outcome")
        print(f"\n[console e2e] {browser.engine}: Copy secret said: {copied}")
        assert_accessible(browser, "secret shown once")
        browser.resize(360, 800)  # the form, the schemas and the secret fit a phone's width
        browser.wait("return document.documentElement.scrollWidth <= window.innerWidth + 1", what="no sideways scroll")
        browser.resize(1440, 900)

        # The endpoint's page: the secret is not shown again.
        wid = hook["webhook_id"]
        browser.click(f".webhook[data-webhook='{wid}'] a")
        browser.wait_for("button[name=ping]")
        assert not browser.run("return !!document.querySelector('#secret-value')")
        assert secret not in browser.text("body")

        # A test ping from the browser reaches the receiver signed with that secret, and is in the log.
        receiver.plan(path, Answer(status=200, body=b'{"received":"console"}'))
        browser.click("button[name=ping]")
        browser.wait_text("#log-status", "Test ping delivered")
        (first,) = wait_requests(receiver, path, 1)
        assert verify(secret, first)["type"] == "webhook.test"
        (ping,) = ws.get(f"/api/webhooks/{wid}/deliveries").json()["items"]
        row = f".delivery[data-delivery='{ping['delivery_id']}']"
        browser.wait_for(row)
        shown = browser.text(row)
        assert attempt_line(ping["last_attempt"]) in shown and '{"received":"console"}' in shown
        assert ping["last_attempt"]["status_code"] == 200 and ping["status"] in shown
        assert_accessible(browser, "delivery log")

        # Redeliver it: the same webhook-id again, and two attempts in the log, each as the API has it.
        browser.click(f"{row} button[name=redeliver]")
        browser.wait_text("#log-status", "Redelivery of")
        again = wait_requests(receiver, path, 2)[1]
        assert again.headers["webhook-id"] == first.headers["webhook-id"] and verify(secret, again)
        detail_path = f"/api/webhooks/{wid}/deliveries/{ping['delivery_id']}"
        deadline = time.monotonic() + 10  # the deliverer records the attempt just after sending it
        while ws.get(detail_path).json()["status"] != "delivered" or ws.get(detail_path).json()["attempt_count"] < 2:
            assert time.monotonic() < deadline, ws.get(detail_path).text
            time.sleep(0.05)
        browser.click("button[name=refresh]")
        browser.wait_text("#log-status", "Delivery log refreshed")
        browser.wait_text(row, "2 attempts")
        browser.click(f"{row} details.attempts summary")
        browser.wait_for(f"{row} li.attempt[data-attempt='2']")
        attempts = ws.get(detail_path).json()["attempts"]
        listed = browser.run(f'return [...document.querySelectorAll("{row} li.attempt")].map((li) => li.innerText)')
        assert [attempt_line(a) in text for a, text in zip(attempts, listed, strict=True)] == [True, True]

        # A failing ping is in the log with the receiver's answer; recovering since the form's time resends it.
        receiver.plan(path, Answer(status=500, body=b"receiver down"))
        browser.click("button[name=ping]")
        browser.wait_text("#log-status", "Test ping failed")
        failed = ws.get(f"/api/webhooks/{wid}/deliveries", status="failed").json()["items"]
        assert len(failed) == 1 and "receiver down" in browser.text(
            f".delivery[data-delivery='{failed[0]['delivery_id']}']"
        )
        browser.click("form.recover button[type=submit]")
        browser.wait_text("#log-status", "Recovery queued 1 failed delivery again.")
        resent = wait_requests(receiver, path, 4)[3]
        assert resent.headers["webhook-id"] == failed[0]["delivery_id"] and verify(secret, resent)

        # Paged, newest first: one a page, each page the API's own.
        browser.goto(f"{api}/console#/webhooks/{wid}?limit=1")
        pages = [ws.get(f"/api/webhooks/{wid}/deliveries", limit=1).json()]
        pages.append(ws.get(f"/api/webhooks/{wid}/deliveries", limit=1, next_token=pages[0]["next_token"]).json())
        assert [p["items"][0]["delivery_id"] for p in pages] == [failed[0]["delivery_id"], ping["delivery_id"]]
        only = "return document.querySelectorAll('.delivery').length === 1 && !!document.querySelector(arguments[0])"
        for number, page in enumerate(pages, 1):
            shown_id = page["items"][0]["delivery_id"]
            browser.wait(only, f".delivery[data-delivery='{shown_id}']", what=f"page {number}: {shown_id} alone")
            assert browser.text(".page-number") == f"Page {number}"
            if number == 1:
                browser.click("button[name=next]")

        # Rotate: a new secret, shown once, signs the next ping (the old one still signs beside it for a day).
        browser.click("button[name=rotate]")
        browser.wait_text("#log-status", "Secret rotated")
        rotated = str(browser.run("return document.querySelector('#secret-value').value"))
        assert rotated.startswith("whsec_") and rotated != secret
        browser.click("button[name=ping]")
        browser.wait_text("#log-status", "Test ping delivered")
        latest = wait_requests(receiver, path, 5)[4]
        assert verify(rotated, latest)["type"] == "webhook.test" and verify(secret, latest)

        # Disable, enable: the state the API reports, shown.
        browser.click("button[name=disable]")
        browser.wait_for(".webhook-head [data-state=disabled]")
        off = ws.get(f"/api/webhooks/{wid}").json()
        assert off["state"] == "disabled" and f"Why: {off['disabled_reason']}" in browser.text(".webhook-head")
        browser.click("button[name=enable]")
        browser.wait_for(".webhook-head [data-state=enabled]")
        assert ws.get(f"/api/webhooks/{wid}").json()["state"] == "enabled"

        # Usable at 360 px: nothing wider than the screen (Chromium sizes exactly; see test_console).
        browser.resize(360, 800)
        browser.wait("return document.documentElement.scrollWidth <= window.innerWidth + 1", what="no sideways scroll")
        browser.resize(1440, 900)

        # Delete asks first: Cancel keeps it, confirming removes it and returns to the list.
        browser.click("button[name=delete]")
        browser.wait_for("dialog[open]")
        browser.click("dialog[open] button[value=no]")
        browser.wait("return !document.querySelector('dialog')", what="the dialog closed")
        assert ws.get(f"/api/webhooks/{wid}").status_code == 200
        browser.click("button[name=delete]")
        browser.click("dialog[open] button[value=yes]")
        browser.wait_for("form.register")
        browser.wait("return !document.querySelector(arguments[0])", f".webhook[data-webhook='{wid}']", what="gone")
        assert ws.get(f"/api/webhooks/{wid}").status_code == 404
