"""POST /api/installations/{id}/invoke and GET …/invocations over real HTTP against the local stack (sandbox)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from plugin_harness import Harness

from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed"),
]

HANDLER = """
import time

def main(event, ctx):
    print("hello from main")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("boom"):
        raise ValueError("boom")
    return {"entry": "main", "echo": event, "config": ctx.config}

def other(event, ctx):
    return {"entry": "other"}
"""


@pytest.fixture(scope="module")
def h(stack: LocalStack, operator: Any) -> Iterator[Harness]:
    harness = Harness(stack, operator)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def plugin(h: Harness) -> str:
    return h.publish({"handler.py": HANDLER}, entrypoints={"main": "handler:main", "other": "handler:other"})


def test_invoke_runs_the_default_entrypoint_and_records_it(h: Harness, plugin: str) -> None:
    d = h.install(plugin, [], h.workspace())
    out = d.invoke({"n": 1})
    assert out["status"] == "succeeded"
    assert out["result"] == {"entry": "main", "echo": {"n": 1}, "config": {}}
    assert out["error"] is None
    assert set(out) == {"invocation_id", "status", "result", "error", "duration_ms", "cpu_ms", "peak_memory_mb"}
    assert out["duration_ms"] > 0 and out["peak_memory_mb"] > 0
    [rec] = d.invocations()
    assert rec["invocation_id"] == out["invocation_id"]
    assert rec["trigger"] == "api" and rec["entrypoint"] == "main" and rec["status"] == "succeeded"
    assert "hello from main" in rec["log_excerpt"]
    assert rec["expires_at"] > 0


def test_named_entrypoint_and_unknown_one(h: Harness, plugin: str) -> None:
    d = h.install(plugin, [], h.workspace())
    assert d.invoke(entrypoint="other")["result"] == {"entry": "other"}
    resp = d.client.post(f"/api/installations/{d.installation_id}/invoke", json={"entrypoint": "nope", "payload": {}})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_a_plugin_failure_is_a_status_not_a_5xx(h: Harness, plugin: str) -> None:
    d = h.install(plugin, [], h.workspace())
    out = d.invoke({"boom": True})
    assert out["status"] == "failed"
    assert out["error"]["type"] == "ValueError" and out["error"]["message"] == "boom"
    rec = d.invocations()[0]
    assert rec["status"] == "failed" and "ValueError" in rec["log_excerpt"]


def test_roles_members_invoke_others_do_not(h: Harness, plugin: str) -> None:
    ws = h.workspace()
    d = h.install(plugin, [], ws)
    member = h._client(ws.keys[Role.MEMBER])
    assert member.post(f"/api/installations/{d.installation_id}/invoke", json={"payload": {}}).status_code == 200
    for role in (Role.PUBLISHER, Role.REVIEWER):
        key = h.operator.auth.issue_key(ws.workspace_id, role, role.value, created_by="operator").key
        resp = h._client(key).post(f"/api/installations/{d.installation_id}/invoke", json={"payload": {}})
        assert resp.status_code == 403, resp.text


def test_other_workspaces_see_nothing(h: Harness, plugin: str) -> None:
    d = h.install(plugin, [], h.workspace())
    stranger = h.workspace().admin
    assert stranger.post(f"/api/installations/{d.installation_id}/invoke", json={"payload": {}}).status_code == 404
    assert stranger.get(f"/api/installations/{d.installation_id}/invocations").status_code == 404


def test_disabled_installation_is_a_conflict(h: Harness, plugin: str) -> None:
    d = h.install(plugin, [], h.workspace())
    disabled = d.client.post(f"/api/installations/{d.installation_id}/disable", json={})
    if disabled.status_code >= 400:
        pytest.skip(f"disable route unavailable: {disabled.status_code}")
    resp = d.client.post(f"/api/installations/{d.installation_id}/invoke", json={"payload": {}})
    assert resp.status_code == 409, resp.text


def test_invocations_are_paginated_newest_first(h: Harness, plugin: str) -> None:
    d = h.install(plugin, [], h.workspace())
    ids = [d.invoke({"i": i})["invocation_id"] for i in range(3)]
    first = d.client.get(f"/api/installations/{d.installation_id}/invocations", params={"limit": 2}).json()
    assert [i["invocation_id"] for i in first["items"]] == ids[::-1][:2]
    second = d.client.get(
        f"/api/installations/{d.installation_id}/invocations", params={"limit": 2, "next_token": first["next_token"]}
    ).json()
    assert [i["invocation_id"] for i in second["items"]] == ids[:1]


def test_concurrency_limit_answers_429_with_retry_after(h: Harness, plugin: str) -> None:
    d = h.install(plugin, [], h.workspace())
    url = f"/api/installations/{d.installation_id}/invoke"
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: d.client.post(url, json={"payload": {"sleep": 1.5}}), range(8)))
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert all(r.status_code in (200, 429) for r in responses)
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].headers["content-type"].startswith("application/problem+json")
    assert d.invoke({})["status"] == "succeeded"


STORING = """
def main(event, ctx):
    ctx.storage.put(event["key"], {"n": 1})
    return {"keys": ctx.storage.list()}
"""


def test_uninstall_deletes_the_plugins_stored_data(h: Harness, stack: LocalStack) -> None:

    deployed = h.deploy({"handler.py": STORING}, permissions=["storage:read", "storage:write"])
    for key in ("a", "b"):
        assert deployed.invoke({"key": key})["status"] == "succeeded"
    ddb = stack.client("dynamodb")
    partition = f"{deployed.plugin_id}#{deployed.installation_id}"

    def stored() -> int:
        return int(
            ddb.query(
                TableName=stack.outputs["PluginDataTableName"],
                KeyConditionExpression="installation_id = :p",
                ExpressionAttributeValues={":p": {"S": partition}},
            )["Count"]
        )

    assert stored() == 2
    assert deployed.client.delete(f"/api/installations/{deployed.installation_id}").status_code == 204
    assert stored() == 0
