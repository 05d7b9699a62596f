"""Development installations over real HTTP against the local stack: upload, run in the sandbox, re-upload.

PUT /api/dev/installations/{plugin_id} with a zip: the server's manifest and artifact checks, no signature,
no review, and the very next invocation runs what was uploaded last.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chalicelib.domain.permissions import Role
from tests.conftest import Tenant, assert_problem, make_zip, manifest, uid

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed"),
]

ZIP = {"Content-Type": "application/zip"}


def handler(tag: str) -> str:
    return (
        "def main(event, ctx):\n"
        f"    print('running {tag}')\n"
        f"    return {{'tag': '{tag}', 'echo': event}}\n"
        "def counter(event, ctx):\n"
        "    n = (ctx.storage.get('n') or 0) + 1\n"
        "    ctx.storage.put('n', n)\n"
        "    return {'n': n}\n"
    )


def dev_zip(plugin_id: str, tag: str, **overrides: Any) -> bytes:
    return make_zip(manifest(plugin_id, "acme", "0.1.0", **overrides), {"handler.py": handler(tag)})


def put(client: httpx.Client, plugin_id: str, data: bytes) -> httpx.Response:
    return client.put(f"/api/dev/installations/{plugin_id}", content=data, headers=ZIP)


def invoke(client: httpx.Client, installation_id: str, **body: Any) -> dict[str, Any]:
    resp = client.post(f"/api/installations/{installation_id}/invoke", json={"payload": {}, **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_an_upload_runs_in_the_sandbox_and_the_next_invocation_runs_the_next_upload(tenant: Tenant) -> None:
    plugin_id = uid("dev")
    first = put(tenant.admin, plugin_id, dev_zip(plugin_id, "v1"))
    assert first.status_code == 200, first.text
    body = first.json()
    inst = body["installation"]
    assert body["created"] is True and inst["development"] is True and body["manifest_version"] == "0.1.0"
    assert "unpublished and unreviewed" in body["notice"]
    assert invoke(tenant.admin, inst["installation_id"], payload={"x": 1})["result"] == {"tag": "v1", "echo": {"x": 1}}

    # Each change: upload, then the very next invocation (the warm worker of v1 must not answer it).
    figures = []
    for tag in ("v2", "v3", "v4"):
        started = time.perf_counter()
        again = put(tenant.admin, plugin_id, dev_zip(plugin_id, tag))
        uploaded = time.perf_counter()
        out = invoke(tenant.admin, inst["installation_id"])
        figures.append(time.perf_counter() - started)
        print(f"put {1000 * (uploaded - started):.0f} ms, invoke {1000 * (time.perf_counter() - uploaded):.0f} ms")
        assert again.status_code == 200 and again.json()["created"] is False
        assert again.json()["installation"]["installation_id"] == inst["installation_id"]
        assert out["result"]["tag"] == tag
    print(f"upload -> next invocation runs the new code: {', '.join(f'{f * 1000:.0f} ms' for f in figures)}")
    assert max(figures) < 3.0, figures

    [rec, *_] = tenant.admin.get(f"/api/installations/{inst['installation_id']}/invocations").json()["items"]
    assert "running v4" in rec["log_excerpt"]


def test_a_manifest_change_applies_entrypoints_and_scopes(tenant: Tenant) -> None:
    plugin_id = uid("dev")
    inst = put(tenant.admin, plugin_id, dev_zip(plugin_id, "a")).json()["installation"]
    iid = inst["installation_id"]
    assert inst["granted"] == []
    resp = tenant.admin.post(f"/api/installations/{iid}/invoke", json={"entrypoint": "counter", "payload": {}})
    assert resp.status_code == 422  # no such entry point yet

    changed = dev_zip(
        plugin_id,
        "a",
        entrypoints={"main": "handler:main", "counter": "handler:counter"},
        permissions=["storage:read", "storage:write"],
    )
    body = put(tenant.admin, plugin_id, changed).json()
    assert body["granted"] == ["storage:read", "storage:write"]
    assert body["installation"]["granted"] == ["storage:read", "storage:write"]
    first_count = invoke(tenant.admin, iid, entrypoint="counter")
    assert first_count["result"] == {"n": 1}, first_count
    assert invoke(tenant.admin, iid, entrypoint="counter")["result"] == {"n": 2}  # its data stays across uploads

    # Scopes taken away are taken away: the storage call is refused now.
    put(
        tenant.admin,
        plugin_id,
        dev_zip(plugin_id, "a", entrypoints={"main": "handler:main", "counter": "handler:counter"}),
    )
    assert invoke(tenant.admin, iid, entrypoint="counter")["status"] == "permission_denied"


def test_an_invalid_upload_is_refused_and_the_previous_code_keeps_running(tenant: Tenant) -> None:
    plugin_id = uid("dev")
    iid = put(tenant.admin, plugin_id, dev_zip(plugin_id, "good")).json()["installation"]["installation_id"]
    bad_manifest = make_zip(manifest(plugin_id, "acme", "not-a-version"))
    assert_problem(put(tenant.admin, plugin_id, bad_manifest), 422, "invalid-manifest")
    assert_problem(put(tenant.admin, plugin_id, b"not a zip"), 422, "invalid-artifact")
    assert_problem(put(tenant.admin, uid("other"), dev_zip(plugin_id, "x")), 422)  # id in path vs manifest
    resp = tenant.admin.put(
        f"/api/dev/installations/{plugin_id}", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert_problem(resp, 415)
    assert invoke(tenant.admin, iid)["result"]["tag"] == "good"


def test_development_versions_never_reach_the_marketplace(new_tenant: Callable[..., Tenant]) -> None:
    dev = new_tenant()
    plugin_id = uid("dev")
    iid = put(dev.admin, plugin_id, dev_zip(plugin_id, "x")).json()["installation"]["installation_id"]
    listed = dev.admin.get("/api/plugins/list", params={"query": plugin_id}).json()["items"]
    assert listed == []
    assert_problem(dev.admin.get(f"/api/plugins/{plugin_id}"), 404)
    queue = dev.client(Role.REVIEWER).get("/api/review/queue").json()["items"]
    assert all(item["plugin_id"] != plugin_id for item in queue)
    # Marked as development wherever installations are listed.
    items = dev.admin.get("/api/installations").json()["items"]
    assert [i["development"] for i in items if i["installation_id"] == iid] == [True]
    # A published plugin's listing shows no development version, even to its owner.
    assert dev.publisher_id
    published = dev.publish_ok(uid("pub-plg"))
    pid = published["plugin_id"]
    put(dev.admin, pid, make_zip(manifest(pid, dev.publisher_id, "9.9.9")))
    detail = dev.admin.get(f"/api/plugins/{pid}").json()
    assert [v["version"] for v in detail["versions"]] == ["1.0.0"]


def test_roles_workspaces_and_other_publishers_ids(new_tenant: Callable[..., Tenant]) -> None:
    mine, other = new_tenant(), new_tenant()
    plugin_id = uid("dev")
    assert_problem(put(mine.client(Role.MEMBER), plugin_id, dev_zip(plugin_id, "x")), 403, "forbidden")
    iid = put(mine.admin, plugin_id, dev_zip(plugin_id, "x")).json()["installation"]["installation_id"]
    assert_problem(other.admin.get(f"/api/installations/{iid}"), 404)
    assert_problem(other.admin.post(f"/api/installations/{iid}/invoke", json={"payload": {}}), 404)
    # Another publisher's plugin id cannot be run as one's own.
    theirs = other.publish_ok(uid("theirs"))["plugin_id"]
    assert_problem(put(mine.admin, theirs, dev_zip(theirs, "x")), 403, "forbidden")
    # An installation from the marketplace is not overwritten by an upload.
    mine_published = mine.publish_ok(uid("mine"))["plugin_id"]
    assert mine.admin.post("/api/plugins/install", json={"plugin_id": mine_published, "grant": []}).status_code == 201
    assert_problem(put(mine.admin, mine_published, dev_zip(mine_published, "x")), 409)


def test_uninstall_cleans_up_and_every_action_is_audited(tenant: Tenant) -> None:
    plugin_id = uid("dev")
    iid = put(tenant.admin, plugin_id, dev_zip(plugin_id, "one")).json()["installation"]["installation_id"]
    put(tenant.admin, plugin_id, dev_zip(plugin_id, "two"))
    upgrade = tenant.admin.post(f"/api/installations/{iid}/upgrade", json={})
    assert_problem(upgrade, 409)
    assert tenant.admin.delete(f"/api/installations/{iid}").status_code == 204
    assert_problem(tenant.admin.get(f"/api/installations/{iid}"), 404)
    again = put(tenant.admin, plugin_id, dev_zip(plugin_id, "three")).json()
    assert again["created"] is True and again["installation"]["installation_id"] != iid
    actions = [r["action"] for r in tenant.admin.get("/api/audit", params={"limit": 100}).json()["items"]]
    for action in ("plugin.dev.install", "plugin.dev.update", "plugin.uninstall"):
        assert action in actions, actions


def test_events_reach_a_development_installation_once_its_manifest_subscribes(tenant: Tenant) -> None:
    plugin_id = uid("dev")
    entrypoints = {"main": "handler:main", "on_created": "handler:main"}
    iid = put(tenant.admin, plugin_id, dev_zip(plugin_id, "quiet", entrypoints=entrypoints)).json()["installation"]
    iid = iid["installation_id"]
    # The manifest now subscribes to task.created: the next upload adds the subscription.
    put(tenant.admin, plugin_id, dev_zip(plugin_id, "heard", entrypoints=entrypoints, events=["task.created"]))
    task = tenant.admin.post("/api/tasks", json={"title": "for the dev plugin"})
    assert task.status_code == 201, task.text
    deadline = time.monotonic() + 30
    while True:
        items = tenant.admin.get(f"/api/installations/{iid}/invocations").json()["items"]
        by_event = [i for i in items if i["trigger"] == "event"]
        if by_event:
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.2)
    assert by_event[0]["entrypoint"] == "on_created" and by_event[0]["status"] == "succeeded"
    assert "running heard" in by_event[0]["log_excerpt"]


def test_installing_the_published_plugin_over_a_development_installation_says_what_to_do(
    tenant: Tenant,
) -> None:
    assert tenant.publisher_id
    plugin_id = tenant.publish_ok(uid("both"))["plugin_id"]
    iid = put(tenant.admin, plugin_id, make_zip(manifest(plugin_id, tenant.publisher_id, "0.0.1")))
    iid = iid.json()["installation"]["installation_id"]
    body = assert_problem(tenant.admin.post("/api/plugins/install", json={"plugin_id": plugin_id, "grant": []}), 409)
    assert "development installation" in body["detail"] and iid in body["detail"]
