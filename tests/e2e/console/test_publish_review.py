"""Publishing and review in real browsers (Chromium, Firefox ESR, WebKit) against the shared `make run` stack.

A publisher uploads a plugin zip built by the CLI's packager: a bad one dropped on the drop zone (a synthetic
DataTransfer drop event) is refused with the API's own problem and each of its reasons; a good one chosen with
the file input is signed in the browser (WebCrypto Ed25519, with the key file the publisher picks) or, where the
engine has no Ed25519 (WPE WebKit 2.38), by the publisher's own tool from the digest the page shows, uploaded to
its presigned URL with a progress bar, and waits for review. A reviewer approves it from the queue after reading
its report (files, scan, first release); a newer version asking for a new scope shows that scope in its diff
against the approved one and is rejected with a reason; the publisher then sees both outcomes. axe-core checks
every view.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key
from make_run_stack import ROOT, MakeRun

from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.publisher_cli.build import package_folder
from chalicelib.publisher_cli.signing import public_key_b64

from ..browsers import Driver
from .conftest import Workspace, assert_accessible, create_workspace

DROP = """
const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
const data = new DataTransfer();
data.items.add(new File([bytes], arguments[1], {type: "application/zip"}));
const zone = document.querySelector("[data-dropzone]");
for (const type of ["dragover", "drop"]) {
  zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
}
"""


@dataclass
class Publisher:
    ws: Workspace
    publisher_id: str
    key: Ed25519PrivateKey
    pem: Path
    folder: Path

    def zip(self, plugin_id: str, version: str, **manifest: Any) -> Path:
        """A plugin folder (the hello-world example under this publisher) zipped by the CLI's packager."""
        src = self.folder / f"{plugin_id}-{version}"
        shutil.copytree(ROOT / "examples" / "plugins" / "hello-world", src)
        m = json.loads((src / "plugyard.json").read_text())
        m.update(id=plugin_id, name=f"Console {plugin_id}", publisher=self.publisher_id, version=version, **manifest)
        (src / "plugyard.json").write_text(json.dumps(m))
        _, data, _ = package_folder(src)
        path = self.folder / f"{plugin_id}-{version}.zip"
        path.write_bytes(data)
        return path

    def signature(self, path: Path) -> str:
        return sign_digest(self.key, hashlib.sha256(path.read_bytes()).hexdigest())

    def submit(self, path: Path) -> httpx.Response:
        """Upload, PUT and signed submit, as the CLI does it: the API's own answer."""
        ticket = httpx.post(f"{self.ws.api}/api/plugins/uploads", headers=self.ws.auth).json()
        put = httpx.put(ticket["url"], content=path.read_bytes(), headers=ticket["headers"])
        assert put.status_code == 200, put.text
        body = {"upload_id": ticket["upload_id"], "signature": self.signature(path)}
        return httpx.post(f"{self.ws.api}/api/plugins/versions", json=body, headers=self.ws.auth)

    def refusal(self, path: Path) -> dict[str, Any]:
        answer = self.submit(path)
        assert answer.status_code == 422, answer.text
        return dict(answer.json())


@pytest.fixture(scope="module")
def publisher(make_run: MakeRun, tmp_path_factory: pytest.TempPathFactory) -> Publisher:
    """A publisher's workspace with a registered signing key, its private half in a PEM file as the CLI keeps it."""
    publisher_id = f"console-pub-{uuid.uuid4().hex[:6]}"
    ws = create_workspace(make_run, "Publishing tests", publisher=publisher_id)
    key = Ed25519PrivateKey.generate()
    registered = httpx.post(f"{ws.api}/api/publisher/keys", json={"public_key": public_key_b64(key)}, headers=ws.auth)
    assert registered.status_code == 201, registered.text
    folder = tmp_path_factory.mktemp("publisher")
    pem = folder / "publisher.pem"
    pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return Publisher(ws, publisher_id, key, pem, folder)


def sign_in_as(driver: Driver, api: str, key: str, view: str, ready: str) -> None:
    """Sign in (signing out whoever is signed in) and open a view by its navigation link."""
    driver.goto(f"{api}/console")
    driver.run("sessionStorage.clear()")
    driver.goto(f"{api}/console")
    driver.wait_for("input[name=api-key]")  # the modules have run and drawn the sign-in form
    driver.type("input[name=api-key]", key, enter=True)
    driver.wait_for(f"#nav a[href='#/{view}']")
    driver.click(f"#nav a[href='#/{view}']")
    driver.wait_for(ready)


def choose_signature(driver: Driver, pub: Publisher, zip_path: Path) -> bool:
    """Sign as the page offers: the key file (Ed25519 in the browser), or a signature made from its digest."""
    if driver.run("return !!document.querySelector('input[name=signing-key]')"):
        driver.set_files("input[name=signing-key]", pub.pem)
        return True
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    driver.wait_text("[data-digest]", digest)  # the page's own SHA-256 of the chosen zip
    driver.type("input[name=signature]", pub.signature(zip_path))
    return False


def version_state(pub: Publisher, plugin_id: str, version: str) -> dict[str, Any]:
    mine = pub.ws.get("/api/publisher/plugins").json()
    plugin = next(p for p in mine["items"] if p["plugin_id"] == plugin_id)
    return dict(next(v for v in plugin["versions"] if v["version"] == version))


def test_the_local_bucket_lets_the_console_origin_put_and_no_other(make_run: MakeRun, publisher: Publisher) -> None:
    """What the browser's preflight to a presigned upload URL gets from the bucket's CORS rule on make run's moto."""
    ticket = httpx.post(f"{make_run.api}/api/plugins/uploads", headers=publisher.ws.auth).json()
    asks = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
    ok = httpx.options(ticket["url"], headers={**asks, "Origin": make_run.api})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == make_run.api
    assert httpx.options(ticket["url"], headers={**asks, "Origin": "http://evil.example"}).status_code == 403
    csp = httpx.get(f"{make_run.api}/console").headers["Content-Security-Policy"]
    assert ticket["url"].startswith(f"{make_run.moto_url}/") and f" {make_run.moto_url}/" in csp and "*" not in csp


@pytest.mark.timeout(240)
def test_publish_review_approve(browser: Driver, make_run: MakeRun, publisher: Publisher) -> None:
    api, pub = make_run.api, publisher
    plugin_id = f"console-{browser.engine}-{uuid.uuid4().hex[:6]}"
    bad = pub.zip(f"{plugin_id}-bad", "1.0.0", resources={"memory_mb": 999999, "timeout_s": 9999})
    good = pub.zip(plugin_id, "1.0.0")
    refusal = pub.refusal(bad)
    with browser.screenshot_on_failure("publish"):
        sign_in_as(browser, api, pub.ws.key, "publisher", "form.upload")
        browser.wait_text("h1", f"Publishing as {pub.publisher_id}")
        signs_here = browser.run("return !!document.querySelector('input[name=signing-key]')")
        # Ed25519 is in these engines' WebCrypto; WPE WebKit 2.38 (Safari 16) lacks it and gets the digest instead.
        assert signs_here or browser.engine == "webkit"
        assert_accessible(browser, "publisher view")
        if signs_here:  # a key pair made in the browser: its public half registered, the private half shown once
            browser.click(".new-key-section summary")
            browser.click(".new-key-section button")
            browser.wait_for("textarea[name=new-private-key]")
            pem = browser.run("return document.querySelector('textarea[name=new-private-key]').value")
            made = load_pem_private_key(pem.encode(), password=None)
            assert isinstance(made, Ed25519PrivateKey)
            key_id = browser.run("return document.querySelector('[data-key-id]').dataset.keyId")
            registered = {k["key_id"]: k["public_key"] for k in pub.ws.get("/api/publisher").json()["keys"]}
            assert registered[key_id] == public_key_b64(made)
            assert browser.run("return document.querySelector('.new-key a[download]').download") == f"{key_id}.pem"
            assert_accessible(browser, "publisher view with a new key")

        # A bad zip, dropped: the API's problem with each reason, nothing published.
        browser.run(DROP, base64.b64encode(bad.read_bytes()).decode(), bad.name)
        browser.wait_text(".upload .chosen", bad.name)
        assert browser.run("return document.querySelector('input[name=artifact]').files[0].name") == bad.name
        choose_signature(browser, pub, bad)
        browser.click("form.upload button[type=submit]")
        browser.wait_text("#alerts .problem-title", refusal["title"])
        alert = browser.text("#alerts")
        assert refusal["detail"] in alert and len(refusal["errors"]) == 2
        for reason in refusal["errors"]:
            assert reason["loc"] in alert and reason["msg"] in alert
        assert browser.text(".upload .status") == "Not published."

        # The good zip through the file input: signed, uploaded (the bar full), submitted, waiting for review.
        browser.set_files("input[name=artifact]", good)
        browser.wait_text(".upload .chosen", good.name)
        choose_signature(browser, pub, good)
        browser.click("form.upload button[type=submit]")
        browser.wait_text(".upload .status", f"Submitted {plugin_id} 1.0.0: Waiting for review.")
        size = good.stat().st_size
        assert browser.run("const p = document.querySelector('.upload progress'); return [p.value, p.max]") == [
            size,
            size,
        ]
        browser.wait_for(
            f".publisher-plugin[data-plugin='{plugin_id}'] .version[data-version='1.0.0'][data-state=pending]"
        )
        assert version_state(pub, plugin_id, "1.0.0")["state"] == "pending"
        assert not browser.text("#alerts")

        browser.resize(360, 800)  # Chromium's view gets exactly 360 px; Firefox and WPE keep a wider minimum
        browser.wait("return document.documentElement.scrollWidth <= window.innerWidth + 1", what="no sideways scroll")
        browser.resize(1280, 900)

    with browser.screenshot_on_failure("review"):
        sign_in_as(browser, api, make_run.reviewer, "review", f".queue-item[data-plugin='{plugin_id}']")
        assert_accessible(browser, "review queue")
        browser.click(f".queue-item[data-plugin='{plugin_id}'] a")
        browser.wait_text("h1", f"{plugin_id} 1.0.0")
        report = httpx.get(
            f"{api}/api/plugins/{plugin_id}/versions/1.0.0/report",
            headers={"Authorization": f"Bearer {make_run.reviewer}"},
        ).json()
        shown = browser.run("return [...document.querySelectorAll('.files li')].map((li) => li.dataset.path)")
        assert shown == [f["path"] for f in report["files"]] and "plugyard.json" in shown
        assert browser.run("return document.querySelector('[data-scan]').dataset.scan") == report["scan"]["status"]
        assert report["diff"]["previous_version"] is None and "First release" in browser.text("#diff-title + p")
        assert f'"id": "{plugin_id}"' in browser.text("pre.manifest")
        assert_accessible(browser, "version report")

        browser.type("textarea[name=reason]", "Reviewed in the console")
        browser.click("form.decision button[value=approve]")
        browser.wait_for("[data-state=approved]")
        browser.wait_text("main .status", f"{plugin_id} 1.0.0: approved.")
        assert version_state(pub, plugin_id, "1.0.0")["state"] == "approved"
        # An approved version can be yanked, and only with a reason (said inline, nothing sent).
        browser.click("form.decision button[value=yank]")
        browser.wait_text("form.decision .field-error", "A reason is required to yank.")
        assert version_state(pub, plugin_id, "1.0.0")["state"] == "approved"

        # A newer version asking for a new scope (submitted as the CLI does): its diff against 1.0.0, then a
        # rejection, which needs a reason.
        newer = pub.submit(pub.zip(plugin_id, "1.1.0", permissions=["tasks:read"], changelog="Names each task."))
        assert newer.status_code == 201, newer.text
        browser.click("a[href='#/review']")
        browser.wait_for(f".queue-item[data-plugin='{plugin_id}'][data-version='1.1.0']")
        browser.click(f".queue-item[data-plugin='{plugin_id}'][data-version='1.1.0'] a")
        browser.wait_text("h1", f"{plugin_id} 1.1.0")
        report = httpx.get(
            f"{api}/api/plugins/{plugin_id}/versions/1.1.0/report",
            headers={"Authorization": f"Bearer {make_run.reviewer}"},
        ).json()
        assert report["diff"]["previous_version"] == "1.0.0" and report["diff"]["scopes_added"] == ["tasks:read"]
        assert browser.run("return document.querySelector('[data-previous]').dataset.previous") == "1.0.0"
        added = browser.run(
            "return [...document.querySelectorAll('[data-diff=Scopes] .added')].map((li) => li.innerText)"
        )
        assert added == ["Added: tasks:read"]
        assert browser.text(".report-changelog pre") == "Names each task."  # what the publisher says changed
        browser.click("form.decision button[value=reject]")
        browser.wait_text("form.decision .field-error", "A reason is required to reject.")
        browser.type("textarea[name=reason]", "Say why it reads tasks")
        browser.click("form.decision button[value=reject]")
        browser.wait_for("[data-state=rejected]")
        assert version_state(pub, plugin_id, "1.1.0")["state"] == "rejected"

    with browser.screenshot_on_failure("approved"):
        card = f".publisher-plugin[data-plugin='{plugin_id}']"
        done = f"{card} .version[data-version='1.0.0'][data-state=approved]"
        sign_in_as(browser, api, pub.ws.key, "publisher", done)
        browser.wait_for(f"{card} .version[data-version='1.1.0'][data-state=rejected]")
        shown = browser.text(card)
        assert "Reviewer's reason: Reviewed in the console" in shown
        assert "Reviewer's reason: Say why it reads tasks" in shown
        deployment = browser.run(f'return document.querySelector("{done}").dataset.deployment')
        assert deployment in ("deploying", "ready")
        # The publisher reads the same report a reviewer read, without the decisions.
        browser.click(f"{card} .version[data-version='1.1.0'] a")
        browser.wait_text("h1", f"{plugin_id} 1.1.0")
        browser.wait_for("[data-diff=Scopes] .added")
        assert browser.run("return document.querySelector('form.decision') === null")
