"""The web console in real browsers (Chromium, Firefox ESR, WebKit) against the shared `make run` stack.

The flow a workspace admin walks: sign in, browse (search, filter, sort, page), open a plugin, install it with
consent to each scope and a configuration generated from its JSON Schema, see it in the manager, disable it,
uninstall it after a confirmation. axe-core checks every view; a failure leaves a screenshot in
out/e2e-screenshots/<engine>-<test>.png. The flow is written once against tests/e2e/browsers' Driver.
"""

from __future__ import annotations

import httpx
import pytest
from make_run_stack import MakeRun

from ..browsers import Driver
from .conftest import Workspace, assert_accessible

PLUGIN = "slack-notifier"  # a seeded example with a required field, a pattern, a secret field and a boolean
PAGE = 12  # the marketplace's page size (marketplace.js PAGE_SIZE); other tests add plugins to the shared stack
CARDS = "return [...document.querySelectorAll('.plugin-card')].map((c) => c.dataset.plugin)"


def cards(driver: Driver) -> list[str]:
    return list(driver.run(CARDS))


def wait_cards(driver: Driver, expected: list[str]) -> None:
    driver.wait(
        f"const got = (function () {{ {CARDS} }})(); "
        "return document.querySelector('#results').getAttribute('aria-busy') === 'false' && "
        "JSON.stringify(got) === JSON.stringify(arguments[0])",
        expected,
        what=f"the cards {expected} (showing {cards(driver)})",
    )


def signed_out(driver: Driver, api: str) -> None:
    """The console's sign-in page, with nothing left in the tab's session from an earlier test."""
    driver.goto(f"{api}/console")
    driver.run("sessionStorage.clear()")
    driver.goto(f"{api}/console")
    driver.wait_for("input[name=api-key]")


def sign_in(driver: Driver, api: str, key: str) -> None:
    signed_out(driver, api)
    driver.type("input[name=api-key]", key, enter=True)  # the keyboard submits the form
    driver.wait_for(".plugin-card")


@pytest.mark.timeout(240)
def test_sign_in_and_marketplace(browser: Driver, make_run: MakeRun, console_workspace: Workspace) -> None:
    ws, api = console_workspace, make_run.api
    listing = ws.get("/api/plugins/list", limit=100).json()["items"]
    with browser.screenshot_on_failure("marketplace"):
        signed_out(browser, api)
        assert browser.run("return document.querySelector('input[name=api-key]').type") == "password"
        assert_accessible(browser, "sign-in")

        # A wrong key: the problem's title and detail, and still signed out.
        browser.type("input[name=api-key]", "pyk_not_a_key", enter=True)
        browser.wait_text("#alerts .problem-title", "Authentication required")
        assert browser.text("#alerts .problem-detail")

        browser.type("input[name=api-key]", ws.key, enter=True)
        browser.wait_for(".plugin-card")
        assert browser.run("return sessionStorage.getItem('plugyard.apiKey')") == ws.key
        assert browser.run("return localStorage.length") == 0
        assert ws.key not in browser.run("return location.href")
        assert f"{ws.workspace_id} · admin" in browser.text("#who")
        first_page = [p["plugin_id"] for p in ws.get("/api/plugins/list", limit=PAGE).json()["items"]]
        assert cards(browser) == first_page and set(first_page) <= {p["plugin_id"] for p in listing}
        assert_accessible(browser, "marketplace")

        # First render: a fresh load of the marketplace (key from the session), navigation start → list shown.
        browser.reload()
        browser.wait_for(".plugin-card")
        mark = "const m = performance.getEntriesByName('marketplace-rendered')[0]; return m && m.startTime"
        first = browser.wait(mark, what="the marketplace-rendered mark")
        print(f"\n[console e2e] {browser.engine}: marketplace first render {first:.0f} ms")
        # The target is 1 s: measured 0.1-0.9 s on this 2-core machine, up to 1.7 s while other test suites ran
        # on it. The guard leaves room for such load, so it catches a regression (a request waterfall, a slow
        # listing) without flaking; the printed figure is the one to compare with the target.
        assert first < 3000, f"first render took {first:.0f} ms"

        # Search, filter by category, sort: each the API's own answer to the same question.
        browser.type("input[name=query]", "slack", enter=True)
        wait_cards(
            browser, [p["plugin_id"] for p in ws.get("/api/plugins/list", query="slack", limit=PAGE).json()["items"]]
        )
        assert cards(browser) == [PLUGIN]
        browser.type("input[name=query]", "", enter=True)
        category = next(c for p in listing if p["plugin_id"] == PLUGIN for c in p["categories"])
        browser.select("select[name=category]", category)
        wait_cards(
            browser,
            [p["plugin_id"] for p in ws.get("/api/plugins/list", category=category, limit=PAGE).json()["items"]],
        )
        assert PLUGIN in cards(browser) and len(cards(browser)) < len(listing)
        browser.select("select[name=category]", "")
        browser.select("select[name=sort]", "recent")
        wait_cards(
            browser, [p["plugin_id"] for p in ws.get("/api/plugins/list", sort="recent", limit=PAGE).json()["items"]]
        )
        assert "sort=recent" in browser.run("return location.hash")

        # Paging, two at a time: Next shows the API's second page, Previous the first again.
        browser.goto(f"{api}/console#/marketplace?limit=2")
        first_page = ws.get("/api/plugins/list", limit=2).json()
        wait_cards(browser, [p["plugin_id"] for p in first_page["items"]])
        assert first_page["next_token"], "the seeded marketplace has more than two plugins"
        browser.click("button[name=next]")
        second = ws.get("/api/plugins/list", limit=2, next_token=first_page["next_token"]).json()["items"]
        wait_cards(browser, [p["plugin_id"] for p in second])
        assert browser.text(".page-number") == "Page 2"
        browser.click("button[name=previous]")
        wait_cards(browser, [p["plugin_id"] for p in first_page["items"]])

        # Usable at 360 px: nothing wider than the screen. Only Chromium sizes its view exactly; headless Firefox
        # keeps at least ~500 px and WPE's headless view is a fixed 800 px, so those check the width they have.
        browser.resize(360, 800)
        width = browser.run("return window.innerWidth")
        assert width == 360 or browser.engine != "chromium", width
        print(f"[console e2e] {browser.engine}: narrow view checked at {width} px")
        browser.wait("return document.documentElement.scrollWidth <= window.innerWidth + 1", what="no sideways scroll")
        assert_accessible(browser, "marketplace at 360 px")
        browser.resize(1440, 900)


@pytest.mark.timeout(240)
def test_install_with_consent_then_manage(browser: Driver, make_run: MakeRun, console_workspace: Workspace) -> None:
    ws, api = console_workspace, make_run.api
    detail = ws.get(f"/api/plugins/{PLUGIN}").json()
    version = next(v for v in detail["versions"] if v["state"] == "approved")
    secret = "https://hooks.slack.com/services/T000/B000/console-e2e-secret"
    with browser.screenshot_on_failure("install"):
        sign_in(browser, api, ws.key)
        browser.click(f".plugin-card[data-plugin='{PLUGIN}'] a")
        browser.wait_text("h1", detail["name"])
        page = browser.text("main")
        for scope in version["permissions"]:  # every permission in plain words, with the publisher's reason
            assert scope["description"] in page and scope["scope"] in page
            assert f"Publisher's reason: {scope['note']}" in page
        assert version["version"] in page and detail["publisher"] in page
        assert version["allowed_hosts"] == ["hooks.slack.com"] and "Hosts: hooks.slack.com" in page  # before consent
        assert_accessible(browser, "plugin page")

        # Install without consent, and with a channel the schema refuses: both said inline, nothing sent.
        browser.type("input[name=channel]", "not a channel")
        browser.click("form.install button[type=submit]")
        browser.wait_text("#consent-error", "Accept every permission")
        assert "Must match the pattern" in browser.text("form.install .field:has(input[name=channel]) .field-error")
        assert ws.get("/api/installations").json()["items"] == []
        assert browser.run("return document.querySelector('input[name=webhook_url]').type") == "password"
        assert_accessible(browser, "install form with errors")

        for scope in version["permissions"]:
            browser.click(f"input[name=grant][value='{scope['scope']}']")
        browser.type("input[name=channel]", "#console-e2e")
        browser.type("input[name=webhook_url]", secret)
        browser.click("input[name=only_failures]")
        browser.click("form.install button[type=submit]")

        # The manager shows it enabled; the secret is stored encrypted and never shown.
        browser.wait_for(f".installation[data-plugin='{PLUGIN}'] [data-state=enabled]")
        assert browser.text("main .status") == f"Installed {PLUGIN} {version['version']} (enabled)."
        (installed,) = ws.get("/api/installations").json()["items"]
        assert set(installed["granted"]) == {s["scope"] for s in version["permissions"]}
        assert installed["config"]["channel"] == "#console-e2e" and installed["config"]["only_failures"] is True
        assert installed["secret_fields"] == ["webhook_url"]
        assert secret not in browser.text("main")
        assert_accessible(browser, "plugin manager")

        # Installing it again: the API's problem (title and detail) is what the page shows.
        again = {"plugin_id": PLUGIN, "version": version["version"], "grant": installed["granted"]}
        refused = httpx.post(
            f"{api}/api/plugins/install", json=again | {"config": {"channel": "#x"}}, headers=ws.auth, timeout=30
        )
        assert refused.status_code == 409, refused.text
        browser.click(f"a[href='#/plugin/{PLUGIN}']")
        browser.wait_for("form.install")
        count = ws.get(f"/api/plugins/{PLUGIN}").json()["install_count"]
        assert browser.text("main h1 + .meta").endswith(f" · {count} install{'' if count == 1 else 's'}")
        # The plugin's page says it is installed here, with the way to its installation's page.
        note = f".installed-note[data-installation='{installed['installation_id']}']"
        assert browser.text(note).startswith(f"Installed in this workspace: version {version['version']}, enabled.")
        assert browser.run(f"return document.querySelector(\"{note} a\").getAttribute('href')") == (
            f"#/installed/{installed['installation_id']}"
        )
        for scope in version["permissions"]:
            browser.click(f"input[name=grant][value='{scope['scope']}']")
        browser.type("input[name=channel]", "#x")
        browser.click("form.install button[type=submit]")
        browser.wait_text("#alerts .problem-title", refused.json()["title"])
        assert browser.text("#alerts .problem-detail") == refused.json()["detail"]
        browser.click("#nav a[href='#/installed']")
        browser.wait_for(f".installation[data-plugin='{PLUGIN}'] [data-state=enabled]")

        card = f".installation[data-plugin='{PLUGIN}']"
        browser.click(f"{card} button:not(.danger)")  # Disable
        browser.wait_for(f"{card} [data-state=disabled]")
        assert ws.get(f"/api/installations/{installed['installation_id']}").json()["state"] == "disabled"

        # Uninstall asks first: Cancel keeps it, confirming removes it.
        browser.click(f"{card} button.danger")
        browser.wait_for("dialog[open]")
        assert_accessible(browser, "uninstall confirmation")
        browser.click("dialog[open] button[value=no]")
        browser.wait("return !document.querySelector('dialog')", what="the dialog closed")
        assert len(ws.get("/api/installations").json()["items"]) == 1
        browser.click(f"{card} button.danger")
        browser.click("dialog[open] button[value=yes]")
        browser.wait_text("main", "Nothing is installed")
        assert ws.get("/api/installations").json()["items"] == []
        csp = httpx.get(f"{api}/console", timeout=10).headers["content-security-policy"]
        assert csp.startswith("default-src 'none'")


FOCUSED = """
const e = document.activeElement;
const style = e ? getComputedStyle(e) : null;
return e && e !== document.body
  ? {tag: e.tagName, text: (e.innerText || e.name || "").trim(), href: e.getAttribute("href") || "",
     outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2}
  : null;
"""


@pytest.mark.timeout(180)
def test_keyboard_only_and_a_members_view(browser: Driver, make_run: MakeRun, console_workspace: Workspace) -> None:
    ws, api = console_workspace, make_run.api
    with browser.screenshot_on_failure("keyboard"):
        sign_in(browser, api, ws.key)
        # From the top of the page, Tab reaches the skip link first, then every control in order, each with a
        # visible focus ring; Enter on a plugin's link opens its page.
        browser.reload()  # a fresh page: the keyboard starts at its top
        browser.wait_for(".plugin-card")
        browser.press("Tab")
        first = browser.run(FOCUSED)
        assert first and first["text"] == "Skip to content" and first["outline"], first
        for _ in range(25):
            browser.press("Tab")
            focused = browser.run(FOCUSED)
            assert focused and focused["outline"], f"focus lost or invisible: {focused}"
            if focused["href"].startswith("#/plugin/"):
                break
        else:
            raise AssertionError("25 Tabs never reached a plugin's link")
        plugin_id = focused["href"].removeprefix("#/plugin/")
        browser.press("Enter")
        name = ws.get(f"/api/plugins/{plugin_id}").json()["name"]
        browser.wait_text("h1", name)
        # Skip to content, on this page: the focus moves into it, and the page (its address, the route) stays.
        browser.run("document.querySelector('a.skip').focus()")
        browser.press("Enter")
        browser.wait("return document.activeElement === document.getElementById('main')", what="focus on main")
        assert browser.run("return location.hash") == f"#/plugin/{plugin_id}"
        assert browser.text("main h1") == name

        # A member's key: browse and see what is installed, but no install form and no manage buttons.
        created = httpx.post(
            f"{api}/api/keys",
            json={"name": f"console member {browser.engine}", "role": "member"},
            headers={"Authorization": f"Bearer {ws.key}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        sign_in(browser, api, created.json()["key"])
        assert "member" in browser.text("#who")
        browser.click(f".plugin-card[data-plugin='{PLUGIN}'] a")
        browser.wait_text("h1", ws.get(f"/api/plugins/{PLUGIN}").json()["name"])
        assert browser.run("return document.querySelector('form.install')") is None
        browser.click("#nav a[href='#/installed']")
        browser.wait_text("main h1", "Installed plugins")
        browser.wait("return !!document.querySelector('main .empty, main .installation')", what="the list")
        assert browser.run("return document.querySelectorAll('main button').length") == 0
