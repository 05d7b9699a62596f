"""Every API error is shown as its problem's title and detail, never a blank screen: a plugin that does not exist
(404), a key revoked while signed in (401), and the API gone (nothing answers), in real browsers."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest
from make_run_stack import MakeRun

from ..browsers import Driver
from .conftest import Workspace, assert_accessible
from .test_console import sign_in

# Headers that belong to one connection, not to the message a proxy forwards.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding"}


@contextlib.contextmanager
def gateway_to(api: str) -> Iterator[str]:
    """A loopback HTTP front for the API, like a load balancer in front of it; leaving the block takes it away,
    so a console loaded through it finds nothing listening at its API's address any more."""

    gone = threading.Event()

    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing stays open once the front is gone

        def forward(self) -> None:
            # A connection the browser opened ahead of time (Firefox preconnects) was accepted before the front
            # went away; a request sent on it later must find nothing there either, so it is closed unanswered.
            if gone.is_set():
                self.close_connection = True
                return
            length = int(self.headers.get("Content-Length") or 0)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            got = httpx.request(
                self.command, f"{api}{self.path}", headers=headers, content=self.rfile.read(length), timeout=30
            )
            self.send_response(got.status_code)
            for name, value in got.headers.items():
                if name.lower() not in HOP_BY_HOP | {"content-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(got.content)))
            self.end_headers()
            # The browser may have given up on this request (it left the page): nobody is there to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(got.content)

        do_GET = do_POST = do_PUT = do_DELETE = forward

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        gone.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def assert_problem_shown(driver: Driver, answer: httpx.Response) -> None:
    """The alert shows the API's problem: its title and its detail, word for word."""
    problem = answer.json()
    driver.wait_text("#alerts .problem-title", problem["title"])
    assert driver.text("#alerts .problem-detail") == problem["detail"]
    assert driver.run("return document.querySelector('#alerts .problem').dataset.status") == str(answer.status_code)


def assert_not_blank(driver: Driver) -> None:
    assert driver.run("return document.querySelector('main').innerText.trim().length > 0"), "the page is blank"


@pytest.mark.timeout(180)
def test_problems_are_shown_never_a_blank_screen(
    browser: Driver, make_run: MakeRun, console_workspace: Workspace
) -> None:
    ws, api = console_workspace, make_run.api
    with browser.screenshot_on_failure("problems"):
        # 404: a plugin page for a plugin that does not exist, opened from its address.
        sign_in(browser, api, ws.key)
        browser.goto(f"{api}/console#/plugin/nope")
        missing = ws.get("/api/plugins/nope")
        assert missing.status_code == 404, missing.text
        assert_problem_shown(browser, missing)
        browser.wait_text("main h1", "This page could not be shown")
        assert_accessible(browser, "a plugin that does not exist")
        browser.click("main a[href='#/marketplace']")  # the way back
        browser.wait_for(".plugin-card")
        assert browser.run("return document.querySelector('#alerts').children.length") == 0

        # An address the console has no page for (a typo) says so, with the way back, instead of the marketplace.
        browser.goto(f"{api}/console#/plugins/hello-world")
        browser.wait_text("main h1", "This page could not be shown")
        assert "The console has no page at #/plugins/hello-world." in browser.text("main")
        browser.click("main a[href='#/marketplace']")
        browser.wait_for(".plugin-card")

        # 401: the key is revoked while the console is open; the next view's request is refused, the problem is
        # shown and the console is back at its sign-in form, with the key forgotten.
        made = httpx.post(
            f"{api}/api/keys", json={"name": f"revoked {browser.engine}", "role": "admin"}, headers=ws.auth, timeout=30
        )
        assert made.status_code == 201, made.text
        doomed = made.json()
        sign_in(browser, api, doomed["key"])
        revoked = httpx.delete(f"{api}/api/keys/{doomed['key_id']}", headers=ws.auth, timeout=30)
        assert revoked.status_code == 204, revoked.text
        browser.click("#nav a[href='#/installed']")
        answer = httpx.get(
            f"{api}/api/installations",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {doomed['key']}"},
            timeout=30,
        )
        assert answer.status_code == 401, answer.text
        assert_problem_shown(browser, answer)
        browser.wait_for("input[name=api-key]")
        assert browser.run("return sessionStorage.getItem('plugyard.apiKey')") is None
        assert_accessible(browser, "signed out after a revoked key")

        # The API unreachable: the console was loaded through a front that then goes away.
        with gateway_to(api) as front:
            sign_in(browser, front, ws.key)
        browser.click("#nav a[href='#/installed']")
        browser.wait_text("#alerts .problem-title", "The API cannot be reached")
        detail = browser.text("#alerts .problem-detail")
        assert detail.strip() and detail != "null", detail  # the engine's own words for the failed request
        assert browser.run("return document.querySelector('#alerts .problem').dataset.status") == "0"
        browser.wait_text("main h1", "This page could not be shown")
        assert_not_blank(browser)
        print(f"\n[console e2e] {browser.engine}: unreachable API shown as: {detail}")
