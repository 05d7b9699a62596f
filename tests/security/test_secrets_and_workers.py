"""Secret config reaches the plugin and nothing else; a warm worker dies with its installation's state.

Both through the API of the local stack with the real sandbox: the secret is decrypted per invocation
and redacted from everything recorded or answered; disabling, uninstalling or upgrading ends the
installation's worker within a second (whichever process of the stack holds it).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from plugin_harness import Deployed, Harness

pytestmark = pytest.mark.stack

SECRET = "tok-9f2c61e0-very-secret"

SECRET_SCHEMA = {
    "type": "object",
    "properties": {
        "api_token": {"type": "string", "x-plugyard-secret": True},
        "region": {"type": "string"},
    },
    "required": ["api_token"],
}

USES_SECRET = {
    "handler.py": """
        import hashlib

        def main(event, ctx):
            token = ctx.config["api_token"]
            print("calling the API with", token)  # a careless plugin: the log must not keep it
            if event.get("fail"):
                raise RuntimeError("rejected token " + token)
            return {
                "sha256": hashlib.sha256(token.encode()).hexdigest(),
                "region": ctx.config.get("region"),
                "echo": token,
            }
    """
}


def test_secret_config_reaches_the_plugin_and_is_never_recorded(harness: Harness) -> None:
    import hashlib

    d = harness.deploy(USES_SECRET, config_schema=SECRET_SCHEMA, config={"api_token": SECRET, "region": "eu"})
    out = d.invoke({})
    assert out["status"] == "succeeded", out
    # The plugin saw the decrypted value (proved by its digest), and the public field beside it.
    assert out["result"]["sha256"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert out["result"]["region"] == "eu"
    assert out["result"]["echo"] == "[redacted secret]"
    failed = d.invoke({"fail": True})
    assert failed["status"] == "failed" and "[redacted secret]" in failed["error"]["message"], failed
    records = d.client.get(f"/api/installations/{d.installation_id}/invocations", params={"limit": 10})
    assert records.status_code == 200 and len(records.json()["items"]) == 2
    assert "calling the API with [redacted secret]" in records.text
    for resp in (
        records,
        d.client.get(f"/api/installations/{d.installation_id}"),
        d.client.get("/api/installations"),
        d.client.get("/api/audit", params={"limit": 100}),
    ):
        assert resp.status_code == 200, resp.text
        assert SECRET not in resp.text


def test_secret_config_update_reaches_the_next_invocation(harness: Harness) -> None:
    import hashlib

    d = harness.deploy(USES_SECRET, config_schema=SECRET_SCHEMA, config={"api_token": SECRET})
    assert d.invoke({})["status"] == "succeeded"
    rotated = SECRET + "-rotated"
    resp = d.client.put(f"/api/installations/{d.installation_id}/config", json={"config": {"api_token": rotated}})
    assert resp.status_code == 200 and rotated not in resp.text, resp.text
    out = d.invoke({})
    assert out["result"]["sha256"] == hashlib.sha256(rotated.encode()).hexdigest()


# --- warm workers end with their installation ---------------------------------------------

V1 = {"handler.py": "def main(event, ctx):\n    return {'version': 1}\n"}
V2 = {"handler.py": "def main(event, ctx):\n    return {'version': 2}\n"}


def sandbox_pids(digest: str) -> list[int]:
    """Host pids of the sandboxes running the code unpacked from the zip with this sha256."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(digest.encode()) for arg in argv):
            found.append(int(entry.name))
    return found


def ends_within(digest: str, seconds: float) -> float:
    """How long until no sandbox runs that code (fails after ``seconds``)."""
    started = time.monotonic()
    while sandbox_pids(digest):
        assert time.monotonic() - started < seconds, f"worker still running after {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - started


def warm(harness: Harness, files: dict[str, str] | None = None) -> tuple[Deployed, str]:
    d = harness.deploy(files or V1)
    assert d.invoke({})["status"] == "succeeded"
    digest = harness.digests[(d.plugin_id, "1.0.0")]
    assert sandbox_pids(digest), "the invocation should leave a warm worker"
    return d, digest


def test_disable_ends_the_worker_within_a_second(harness: Harness) -> None:
    d, digest = warm(harness)
    assert d.client.post(f"/api/installations/{d.installation_id}/disable", json={}).status_code == 200
    ends_within(digest, 1.0)


def test_uninstall_ends_the_worker_within_a_second(harness: Harness) -> None:
    d, digest = warm(harness)
    assert d.client.delete(f"/api/installations/{d.installation_id}").status_code == 204
    ends_within(digest, 1.0)


def test_upgrade_keeps_running_until_consent_then_ends_the_old_worker(harness: Harness) -> None:
    d, digest = warm(harness)
    harness.publish(V2, plugin_id=d.plugin_id, version="2.0.0", permissions=["tasks:read"])
    iid = d.installation_id
    pending = d.client.post(f"/api/installations/{iid}/upgrade", json={"version": "2.0.0"})
    assert pending.status_code == 200, pending.text
    assert (pending.json()["state"], pending.json()["version"]) == ("enabled", "1.0.0")
    # Until consent, the current version keeps running, on the same warm worker.
    time.sleep(0.6)  # longer than a sweep: the worker is still wanted
    assert sandbox_pids(digest)
    assert d.invoke({})["result"] == {"version": 1}
    refused = d.client.post(f"/api/installations/{iid}/enable")
    assert refused.status_code == 409 and refused.json()["type"].endswith("upgrade-awaits-consent"), refused.text
    done = d.client.post(f"/api/installations/{iid}/consent", json={"grant": ["tasks:read"]})
    assert done.status_code == 200 and done.json()["version"] == "2.0.0", done.text
    ends_within(digest, 1.0)
    assert d.invoke({})["result"] == {"version": 2}
