"""Publisher analytics: counters kept where installs, uninstalls and invocations are written, read per version.

The contract runs the in-memory and the DynamoDB counters through the same cases; the end-to-end test installs,
uninstalls and invokes (some invocations failing) a real plugin in the sandbox through the API and reads the
figures back as its publisher."""

from __future__ import annotations

import math
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import Tenant, assert_problem, make_zip, manifest, uid
from plugin_harness import Harness

from chalicelib.adapters import dynamo, memory
from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack

HANDLER = """
def main(event, ctx):
    if event.get("boom"):
        raise ValueError("boom")
    return {"ok": True}
"""


@pytest.fixture(params=["memory", "dynamo"])
def stats(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return memory.InMemoryPluginStatsRepository()
    dynamo.bind_tables(request.getfixturevalue("operator").settings)
    return dynamo.DynamoPluginStatsRepository()


def test_counters_add_up_per_version_and_concurrent_adds_are_not_lost(stats: Any) -> None:
    pid = f"p-{uuid.uuid4().hex[:8]}"
    stats.add(pid, "1.0.0", installs=1)
    stats.add(pid, "1.0.0", installs=1)
    stats.add(pid, "1.0.0", uninstalls=1)
    stats.add(pid, "2.0.0", invocations=1, errors=1, duration_ms=12.0)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda ms: stats.add(pid, "2.0.0", invocations=1, duration_ms=ms), [3.0] * 20))
    stats.add(f"other-{pid}", "1.0.0", installs=5)
    found = {c.version: c for c in stats.for_plugin(pid)}
    assert set(found) == {"1.0.0", "2.0.0"}
    assert (found["1.0.0"].installs, found["1.0.0"].uninstalls, found["1.0.0"].invocations) == (2, 1, 0)
    v2 = found["2.0.0"]
    assert (v2.invocations, v2.errors) == (21, 1)
    assert sum(v2.durations.values()) == 21 and len(v2.durations) == 2
    assert stats.for_plugin(f"none-{pid}") == []


@pytest.fixture(scope="module")
def h(stack: LocalStack, operator: Any) -> Iterator[Harness]:
    harness = Harness(stack, operator)
    yield harness
    harness.close()


@pytest.mark.stack
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
def test_installs_uninstalls_and_invocations_with_errors_show_in_the_publishers_figures(h: Harness) -> None:
    plugin = h.publish({"handler.py": HANDLER})
    first = h.install(plugin, [])
    gone = h.install(plugin, [], workspace=h.workspace())
    h.publish({"handler.py": HANDLER}, plugin_id=plugin, version="1.1.0")
    h.install(plugin, [], workspace=h.workspace())  # gets 1.1.0, the latest
    assert gone.client.delete(f"/api/installations/{gone.installation_id}").status_code == 204
    outcomes = [first.invoke({"boom": n % 3 == 0})["status"] for n in range(6)]
    assert outcomes.count("failed") == 2, outcomes
    durations = sorted(i["duration_ms"] for i in first.invocations())

    resp = h.publisher.admin.get(f"/api/plugins/{plugin}/stats")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["plugin_id"] == plugin
    v11, v10 = body["versions"]
    assert v11 == {
        "version": "1.1.0",
        "installs": 1,
        "uninstalls": 0,
        "invocations": 0,
        "errors": 0,
        "p50_ms": None,
        "p99_ms": None,
    }
    assert (v10["version"], v10["installs"], v10["uninstalls"], v10["invocations"], v10["errors"]) == (
        "1.0.0",
        2,
        1,
        6,
        2,
    )
    # Percentiles (nearest rank) are bucket upper bounds: never below the true figure, at most one bucket (~19%)
    # above it.
    for q, key in ((0.5, "p50_ms"), (0.99, "p99_ms")):
        true = durations[math.ceil(q * len(durations)) - 1]
        assert true <= v10[key] <= max(true * 1.19, 1.0) + 0.1, (q, durations, v10)
    # No workspace of any installer shows through.
    for ws in (first.workspace_id, gone.workspace_id, h.consumer.workspace_id):
        assert ws not in resp.text


@pytest.mark.stack
def test_only_the_plugins_own_publisher_reads_its_figures(h: Harness, new_tenant: Any) -> None:
    plugin = h.publish({"handler.py": HANDLER})
    other_publisher = new_tenant()
    assert_problem(other_publisher.admin.get(f"/api/plugins/{plugin}/stats"), 404, "plugin-not-found")
    assert_problem(other_publisher.client(Role.REVIEWER).get(f"/api/plugins/{plugin}/stats"), 403, "forbidden")
    member = h._client(h.publisher.keys[Role.MEMBER])
    assert_problem(member.get(f"/api/plugins/{plugin}/stats"), 403, "forbidden")
    assert_problem(h.publisher.admin.get("/api/plugins/no-such-plugin/stats"), 404, "plugin-not-found")


@pytest.mark.stack
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
def test_a_development_installation_stays_out_of_the_figures(tenant: Tenant) -> None:
    plugin = uid("devstat")
    tenant.publish_ok(plugin, "1.0.0")
    data = make_zip(manifest(plugin, tenant.publisher_id or "", "1.1.0"), {"handler.py": HANDLER})
    dev = tenant.admin.put(
        f"/api/dev/installations/{plugin}", content=data, headers={"Content-Type": "application/zip"}
    )
    assert dev.status_code == 200, dev.text
    inst = dev.json()["installation"]["installation_id"]
    ran = tenant.admin.post(f"/api/installations/{inst}/invoke", json={"payload": {}})
    assert ran.status_code == 200 and ran.json()["status"] == "succeeded", ran.text
    figures = tenant.admin.get(f"/api/plugins/{plugin}/stats")
    assert figures.status_code == 200, figures.text
    assert [(v["version"], v["installs"], v["invocations"]) for v in figures.json()["versions"]] == [("1.0.0", 0, 0)]
    assert tenant.workspace_id not in figures.text
    assert_problem(
        tenant.client(Role.REVIEWER).get(f"/api/plugins/{plugin}/versions/dev-{tenant.workspace_id}/report"), 404
    )
    assert tenant.admin.delete(f"/api/installations/{inst}").status_code == 204
    assert [v["uninstalls"] for v in tenant.admin.get(f"/api/plugins/{plugin}/stats").json()["versions"]] == [0]
