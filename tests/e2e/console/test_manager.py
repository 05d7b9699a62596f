"""The plugin manager's installation page in real browsers (Chromium, Firefox ESR, WebKit) on the shared stack.

A workspace admin walks one installation through its life: configure it (the form from the version's JSON
Schema, prefilled, the secret shown as set and replaced), invoke it with a JSON payload (checked before it is
sent; the plugin's result and its error shown), read the invocation log a page at a time, upgrade to a version
that needs no new scope (at once), ask for one that adds a scope (it waits for consent while the current version
keeps running), keep the current version, ask again and consent, then roll back. Each step is checked against the
API's own answer; axe-core checks each new view. The plugin and its versions are published in the test's setup
by the demo workspace's publisher, one plugin per engine, installed in the console tests' workspace.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import make_zip, manifest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from make_run_stack import MakeRun

from chalicelib.local.seed import public_key_b64, publish_zip

from ..browsers import Driver
from .conftest import Workspace, assert_accessible
from .test_console import sign_in

SCHEMA = {
    "type": "object",
    "required": ["greeting", "api_token"],
    "properties": {
        "greeting": {"type": "string", "title": "Greeting", "minLength": 2},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5},
        "api_token": {"type": "string", "x-plugyard-secret": True, "minLength": 8},
    },
    "additionalProperties": False,
}
HANDLER = """
def main(event, ctx):
    if event.get("fail"):
        raise ValueError("asked to fail: " + str(event["fail"]))
    print("greeting", ctx.config["greeting"], "for", event.get("name"))
    return {"greeting": ctx.config["greeting"], "token_chars": len(ctx.config["api_token"]), "name": event.get("name")}
"""
V2_NOTE = "to summarize what it greets"
FIRST_TOKEN, NEW_TOKEN = "first-token-1", "a-replaced-secret-token"


@pytest.fixture
def managed(make_run: MakeRun, console_workspace: Workspace, browser: Driver) -> Iterator[tuple[str, str]]:
    """A plugin of this engine's own (1.0.0, 1.1.0 the same scopes, 2.0.0 one scope and one host more) with 1.0.0
    installed in the console tests' workspace; (plugin id, installation id)."""
    plugin_id = f"mgr-{browser.engine}-{uuid.uuid4().hex[:6]}"
    signing = Ed25519PrivateKey.generate()
    base: dict[str, Any] = {"permissions": ["tasks:read"], "config_schema": SCHEMA}
    versions = {
        "1.0.0": base,
        "1.1.0": {**base, "changelog": "Friendlier greetings."},
        "2.0.0": {
            **base,
            "permissions": ["tasks:read", "ai:complete", "http:fetch"],
            "permission_notes": {"ai:complete": V2_NOTE},
            "http": {"allowed_hosts": ["api.example.com"]},
            "changelog": "Summaries.",
        },
    }
    demo = httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {make_run.key}"}, timeout=30)
    reviewer = {"Authorization": f"Bearer {make_run.reviewer}"}
    with demo:
        assert demo.post("/api/publisher/keys", json={"public_key": public_key_b64(signing)}).status_code == 201
        for version, over in versions.items():
            data = make_zip(manifest(plugin_id, "plugyard-labs", version, **over), {"handler.py": HANDLER})
            assert publish_zip(demo, data, signing).status_code == 201
            done = httpx.post(
                f"{make_run.api}/api/review/{plugin_id}/{version}/approve", json={"reason": "e2e"}, headers=reviewer
            )
            assert done.status_code == 200, done.text
            if version == "1.0.0":
                installed = httpx.post(
                    f"{make_run.api}/api/plugins/install",
                    json={
                        "plugin_id": plugin_id,
                        "version": "1.0.0",
                        "grant": ["tasks:read"],
                        "config": {"greeting": "hello", "api_token": FIRST_TOKEN},
                    },
                    headers=console_workspace.auth,
                    timeout=30,
                )
                assert installed.status_code == 201, installed.text
        iid = installed.json()["installation_id"]
        yield plugin_id, iid
        httpx.delete(f"{make_run.api}/api/installations/{iid}", headers=console_workspace.auth, timeout=30)
        # Yanked, it leaves the marketplace, whose listing later tests on the shared stack compare with the page.
        for version in versions:
            httpx.post(
                f"{make_run.api}/api/review/{plugin_id}/{version}/yank",
                json={"reason": "an end-to-end test's plugin"},
                headers=reviewer,
                timeout=30,
            )


@pytest.mark.timeout(240)
def test_configure_invoke_upgrade_consent_and_roll_back(
    browser: Driver, make_run: MakeRun, console_workspace: Workspace, managed: tuple[str, str]
) -> None:
    ws, api = console_workspace, make_run.api
    plugin_id, iid = managed
    path = f"/api/installations/{iid}"
    with browser.screenshot_on_failure("manager"):
        sign_in(browser, api, ws.key)
        browser.click("#nav a[href='#/installed']")
        manage = f".installation[data-plugin='{plugin_id}'] a.manage"
        browser.wait_for(manage)
        browser.click(manage)
        browser.wait_for("form.configure")
        assert browser.text("h1") == f"{plugin_id} 1.0.0"
        assert_accessible(browser, "installation page")

        # Configure: prefilled from the public config; the secret shown as set, never its value.
        assert browser.run("return document.querySelector('input[name=greeting]').value") == "hello"
        secret = "input[name=api_token]"
        assert browser.run(f"return document.querySelector('{secret}').type") == "password"
        assert browser.run(f"return document.querySelector('{secret}').value") == ""
        assert "Secret: set" in browser.text(f"form.configure .field:has({secret}) .hint")
        assert FIRST_TOKEN not in browser.run("return document.documentElement.outerHTML")
        # A value the schema refuses is said inline and nothing is sent.
        browser.type("input[name=greeting]", "x")
        browser.click("form.configure button[type=submit]")
        browser.wait_text("form.configure .field:has(input[name=greeting]) .field-error", "at least 2")
        assert ws.get(path).json()["config"] == {"greeting": "hello"}
        browser.type("input[name=greeting]", "hi there")
        browser.type("input[name=retries]", "3")
        browser.type(secret, NEW_TOKEN)
        browser.click("form.configure button[type=submit]")
        browser.wait_text("#installation-status", "Configuration saved.")
        saved = ws.get(path).json()
        assert (saved["config"], saved["secret_fields"]) == ({"greeting": "hi there", "retries": 3}, ["api_token"])
        assert browser.run(f"return document.querySelector('{secret}').value") == ""

        # Invoking an installation disabled meanwhile: the API's problem, its title and detail, on the page.
        assert httpx.post(f"{api}{path}/disable", json={"reason": "e2e"}, headers=ws.auth).status_code == 200
        refused = httpx.post(f"{api}{path}/invoke", json={"payload": {}}, headers=ws.auth, timeout=30)
        assert refused.status_code == 409, refused.text
        browser.click("form.invoke button[type=submit]")
        browser.wait_text("#alerts .problem-title", refused.json()["title"])
        assert browser.text("#alerts .problem-detail") == refused.json()["detail"]
        assert httpx.post(f"{api}{path}/enable", headers=ws.auth).status_code == 200

        # Invoke: a payload that is not JSON is refused before sending; then the plugin's result, then its error.
        browser.type("textarea[name=payload]", '{"name": ')
        browser.click("form.invoke button[type=submit]")
        browser.wait_text("form.invoke .field-error", "Not valid JSON")
        assert ws.get(f"{path}/invocations").json()["items"] == []
        browser.type("textarea[name=payload]", '{"name": "console"}')
        browser.click("form.invoke button[type=submit]")
        browser.wait_for(".outcome[data-status=succeeded]")
        shown = json.loads(browser.text(".outcome .plugin-result"))
        # The replaced secret reached the plugin: its length is the new token's.
        assert shown == {"greeting": "hi there", "token_chars": len(NEW_TOKEN), "name": "console"}
        browser.wait("return document.querySelectorAll('.invocation').length === 1", what="one logged invocation")
        browser.type("textarea[name=payload]", '{"fail": "on purpose"}')
        browser.click("form.invoke button[type=submit]")
        browser.wait_for(".outcome[data-status=failed]")
        assert "asked to fail: on purpose" in browser.text(".outcome .plugin-error")
        browser.wait("return document.querySelectorAll('.invocation').length === 2", what="two logged invocations")

        # The log, newest first, as the API lists it: status, duration, CPU, peak memory, log excerpt.
        logged = ws.get(f"{path}/invocations").json()["items"]
        ids = browser.run("return [...document.querySelectorAll('.invocation')].map((e) => e.dataset.invocation)")
        assert ids == [i["invocation_id"] for i in logged] and [i["status"] for i in logged] == ["failed", "succeeded"]
        ok = f".invocation[data-invocation='{logged[1]['invocation_id']}']"
        assert browser.text(f"{ok} [data-figure=duration]") == f"{round(logged[1]['duration_ms'])} ms"
        assert browser.text(f"{ok} [data-figure=cpu]") == f"{round(logged[1]['cpu_ms'])} ms"
        assert browser.text(f"{ok} [data-figure=memory]") == f"{logged[1]['peak_memory_mb']:.1f} MB"
        assert "greeting hi there for console" in browser.text(f"{ok} pre.log")
        assert_accessible(browser, "invoke result and invocation log")
        # A page at a time: one per page here, Older shows the earlier one, Newer the latest again.
        browser.goto(f"{api}/console#/installed/{iid}?limit=1")
        browser.wait("return document.querySelectorAll('.invocation').length === 1", what="a page of one")
        browser.click("button[name=older]")
        browser.wait_for(f"{ok}")
        assert browser.text(".log-section .page-number") == "Page 2"
        browser.click("button[name=newer]")
        browser.wait_for(f".invocation[data-invocation='{logged[0]['invocation_id']}']")

        # 1.1.0 asks for no new scope: it upgrades at once.
        browser.click(".upgrade[data-version='1.1.0'] button[name=upgrade]")
        browser.wait_text("h1", f"{plugin_id} 1.1.0")
        assert ws.get(path).json()["version"] == "1.1.0"

        # 2.0.0 adds a scope and a host: said in plain words; asking for it leaves 1.1.0 running until consent.
        options = ws.get(f"{path}/versions").json()
        (two,) = options["upgrades"]
        card = ".upgrade[data-version='2.0.0']"
        for scope in two["scopes_added"]:
            assert scope["description"] in browser.text(card) and scope["scope"] in browser.text(card)
        assert f"Publisher's reason: {V2_NOTE}" in browser.text(card)
        assert "api.example.com" in browser.text(card)
        browser.click(f"{card} button[name=upgrade]")
        browser.wait_for(".pending[data-pending='2.0.0']")
        # The manager's list says so too.
        browser.click("a[href='#/installed']")
        browser.wait_text(f".installation[data-plugin='{plugin_id}'] [data-pending='2.0.0']", "1.1.0 keeps running")
        browser.click(manage)
        browser.wait_for(".pending[data-pending='2.0.0']")
        waiting = ws.get(path).json()
        assert (waiting["version"], waiting["state"], waiting["pending_upgrade"]["version"]) == (
            "1.1.0",
            "enabled",
            "2.0.0",
        )
        assert "1.1.0 keeps running" in browser.text(".pending")
        assert browser.text("[data-running]") == "1.1.0"
        assert_accessible(browser, "upgrade waiting for consent")

        # Keep the current version and grants: the upgrade is dropped, 1.1.0 stays.
        browser.click(".pending button[name=decline]")
        browser.wait("return !document.querySelector('.pending')", what="the waiting upgrade gone")
        kept = ws.get(path).json()
        assert (kept["version"], kept["granted"], kept["pending_upgrade"]) == ("1.1.0", ["tasks:read"], None)

        # Ask again and consent: 2.0.0 runs with the new scopes granted.
        browser.click(f"{card} button[name=upgrade]")
        browser.wait_for(".pending[data-pending='2.0.0']")
        browser.click(".pending button[name=consent]")
        browser.wait_text("h1", f"{plugin_id} 2.0.0")
        moved = ws.get(path).json()
        assert (moved["version"], moved["granted"]) == ("2.0.0", ["ai:complete", "http:fetch", "tasks:read"])

        # Roll back to 1.1.0 after a confirmation; the scopes it does not request are dropped.
        rollback = ".rollback[data-version='1.1.0']"
        assert "ai:complete" in browser.text(rollback)
        browser.click(f"{rollback} button[name=rollback]")
        browser.wait_for("dialog[open]")
        browser.click("dialog[open] button[value=yes]")
        browser.wait_text("h1", f"{plugin_id} 1.1.0")
        back = ws.get(path).json()
        assert (back["version"], back["granted"]) == ("1.1.0", ["tasks:read"])
        assert f"{plugin_id}: rolled back to 1.1.0." in browser.text("#installation-status")
        # The version before the last change is now the newer 2.0.0: offered as undoing the rollback.
        undo = ".rollback[data-version='2.0.0'] button[name=rollback]"
        assert browser.text(undo) == "Undo the rollback: return to 2.0.0"

        # Asked once more, 2.0.0 may also run under the current grants: its calls needing the new scopes fail.
        browser.click(f"{card} button[name=upgrade]")
        browser.wait_for(".pending button[name=keep-grants]")
        browser.click(".pending button[name=keep-grants]")
        browser.wait_text("h1", f"{plugin_id} 2.0.0")
        under = ws.get(path).json()
        assert (under["version"], under["granted"], under["run_under_old_grants"]) == ("2.0.0", ["tasks:read"], True)
        assert "earlier version's grants" in browser.text("main .warning")

        # A member's key opens the page to invoke and read the log, with nothing to configure or move.
        member = httpx.post(
            f"{api}/api/keys", json={"name": f"manager member {browser.engine}", "role": "member"}, headers=ws.auth
        )
        assert member.status_code == 201, member.text
        sign_in(browser, api, member.json()["key"])
        browser.goto(f"{api}/console#/installed/{iid}")
        browser.wait_for("form.invoke")
        gone = "form.configure, .upgrade, .pending, button[name=rollback]"
        assert browser.run(f"return document.querySelectorAll('{gone}').length") == 0
        assert browser.run("return document.querySelectorAll('.invocation').length") == len(logged)

        # Usable at 360 px (headless Firefox and WPE keep a wider view: they check the width they have).
        browser.resize(360, 800)
        browser.wait("return document.documentElement.scrollWidth <= window.innerWidth + 1", what="no sideways scroll")
        browser.resize(1440, 900)
