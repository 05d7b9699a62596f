"""The marketplace lifecycle over real HTTP: review, yank, upgrade with consent, rollback, config secrets,
cache invalidation across two API processes, and tamper detection in the audit log."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import ROOT_DIR, Tenant, assert_problem, make_zip, manifest, uid

from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack, free_port


def _install(client: httpx.Client, plugin_id: str, **body: object) -> httpx.Response:
    return client.post("/api/plugins/install", json={"plugin_id": plugin_id, **body})


def test_submitted_version_waits_for_review_then_lists(new_tenant: Callable[..., Tenant]) -> None:
    pub, user = new_tenant(), new_tenant(publisher=False)
    pid = uid("rev")
    resp = pub.publish(manifest(pid, pub.publisher_id or ""), approve=False)
    assert resp.status_code == 201 and resp.json()["versions"][0]["state"] == "pending"
    assert_problem(user.admin.get(f"/api/plugins/{pid}"), 404, "plugin-not-found")  # not public yet
    assert_problem(_install(user.admin, pid), 404, "version-not-found")
    queue = pub.client(Role.REVIEWER).get("/api/review/queue").json()["items"]
    assert any(i["plugin_id"] == pid for i in queue)
    assert_problem(pub.admin.post(f"/api/review/{pid}/1.0.0/approve", json={}), 403, "forbidden")
    assert pub.approve(pid, "1.0.0").json()["state"] == "approved"
    listed = user.admin.get("/api/plugins/list", params={"query": pid}).json()["items"]
    assert [p["plugin_id"] for p in listed] == [pid]
    assert _install(user.admin, pid).status_code == 201


def test_upgrade_consent_rollback_over_http(new_tenant: Callable[..., Tenant]) -> None:
    pub, user = new_tenant(), new_tenant(publisher=False)
    pid = uid("upg")
    pub_id = pub.publisher_id or ""
    assert pub.publish(manifest(pid, pub_id, "1.0.0", permissions=["tasks:read"])).status_code == 201
    inst = _install(user.admin, pid, grant=["tasks:read"]).json()
    notes = {"ai:complete": "to write summaries"}
    v2 = manifest(pid, pub_id, "1.1.0", permissions=["tasks:read", "ai:complete"], permission_notes=notes)
    assert pub.publish(v2).status_code == 201
    iid = inst["installation_id"]
    pending = user.admin.post(f"/api/installations/{iid}/upgrade", json={}).json()
    assert (pending["state"], pending["version"]) == ("enabled", "1.0.0")
    refused = assert_problem(user.admin.post(f"/api/installations/{iid}/enable"), 409, "upgrade-awaits-consent")
    assert f"/api/installations/{iid}/consent" in refused["detail"] and refused["new_scopes"] == ["ai:complete"]
    assert pending["pending_upgrade"]["new_scopes"][0]["note"] == "to write summaries"
    missing = assert_problem(
        user.admin.post(f"/api/installations/{iid}/consent", json={"grant": ["tasks:read"]}), 422, "scopes-not-granted"
    )
    assert missing["missing_scopes"] == ["ai:complete"]
    done = user.admin.post(f"/api/installations/{iid}/consent", json={"grant": ["ai:complete"]}).json()
    assert (done["state"], done["version"], done["granted"]) == ("enabled", "1.1.0", ["ai:complete", "tasks:read"])
    back = user.admin.post(f"/api/installations/{iid}/rollback").json()
    assert back["version"] == "1.0.0" and back["granted"] == ["tasks:read"]
    assert [h["action"] for h in back["history"]][-3:] == ["upgrade_requested", "upgrade", "rollback"]
    assert_problem(user.client(Role.MEMBER).post(f"/api/installations/{iid}/rollback"), 403, "forbidden")


def test_versions_report_and_decline_over_http(new_tenant: Callable[..., Tenant]) -> None:
    pub, user = new_tenant(), new_tenant(publisher=False)
    pid, pub_id = uid("opt"), pub.publisher_id or ""
    assert pub.publish(manifest(pid, pub_id, "1.0.0", permissions=["tasks:read"])).status_code == 201
    iid = _install(user.admin, pid, grant=["tasks:read"]).json()["installation_id"]
    hosts = {"allowed_hosts": ["api.example.com"]}
    v2 = manifest(pid, pub_id, "2.0.0", permissions=["tasks:read", "http:fetch"], http=hosts)
    assert pub.publish(v2).status_code == 201
    options = user.admin.get(f"/api/installations/{iid}/versions").json()
    [two] = options["upgrades"]
    assert (options["current"]["version"], two["version"], two["needs_consent"]) == ("1.0.0", "2.0.0", True)
    assert ([s["scope"] for s in two["scopes_added"]], two["hosts_added"]) == (["http:fetch"], ["api.example.com"])
    assert_problem(new_tenant(publisher=False).admin.get(f"/api/installations/{iid}/versions"), 404)
    assert user.admin.post(f"/api/installations/{iid}/upgrade", json={}).json()["pending_upgrade"]["version"] == "2.0.0"
    kept = user.admin.post(f"/api/installations/{iid}/decline").json()
    assert (kept["version"], kept["granted"], kept["pending_upgrade"]) == ("1.0.0", ["tasks:read"], None)
    assert user.admin.get(f"/api/installations/{iid}").json()["pending_upgrade"] is None  # stored, not only answered
    assert_problem(user.admin.post(f"/api/installations/{iid}/decline"), 409, "conflict")
    log = user.admin.get("/api/audit", params={"action": "plugin.upgrade.decline"}).json()["items"]
    assert [(r["target"], r["detail"]["declined"]) for r in log] == [(iid, "2.0.0")]


def test_yank_disables_installations_and_tells_why(new_tenant: Callable[..., Tenant]) -> None:
    pub, user = new_tenant(), new_tenant(publisher=False)
    pid = uid("yank")
    assert pub.publish(manifest(pid, pub.publisher_id or "")).status_code == 201
    iid = _install(user.admin, pid).json()["installation_id"]
    reviewer = pub.client(Role.REVIEWER)
    assert_problem(reviewer.post(f"/api/review/{pid}/1.0.0/yank", json={}), 422)  # a reason is required
    assert reviewer.post(f"/api/review/{pid}/1.0.0/yank", json={"reason": "exfiltrates tokens"}).status_code == 200
    inst = user.admin.get(f"/api/installations/{iid}").json()
    assert inst["state"] == "disabled" and "exfiltrates tokens" in inst["disabled_reason"]
    log = user.admin.get("/api/audit", params={"action": "plugin.disable"}).json()["items"]
    assert log and "exfiltrates tokens" in log[0]["detail"]["reason"]
    assert_problem(user.admin.post(f"/api/installations/{iid}/enable"), 409, "conflict")
    assert user.admin.get("/api/plugins/list", params={"query": pid}).json()["items"] == []


def test_secret_config_is_never_returned(new_tenant: Callable[..., Tenant]) -> None:
    pub, user = new_tenant(), new_tenant(publisher=False)
    pid = uid("sec")
    schema = {
        "type": "object",
        "properties": {"api_token": {"type": "string", "writeOnly": True}, "region": {"type": "string"}},
        "additionalProperties": False,
    }
    assert pub.publish(manifest(pid, pub.publisher_id or "", config_schema=schema)).status_code == 201
    resp = _install(user.admin, pid, config={"api_token": "tok-very-secret", "region": "eu"})
    assert resp.status_code == 201 and "tok-very-secret" not in resp.text
    iid = resp.json()["installation_id"]
    for r in (user.admin.get(f"/api/installations/{iid}"), user.admin.get("/api/installations")):
        assert "tok-very-secret" not in r.text
    assert user.admin.get(f"/api/installations/{iid}").json()["secret_fields"] == ["api_token"]
    bad = user.admin.put(f"/api/installations/{iid}/config", json={"config": {"region": 5}})
    assert_problem(bad, 422, "invalid-config")


@pytest.fixture
def second_api(stack: LocalStack) -> Iterator[str]:
    """A second API process on the same local AWS: another Lambda container, as far as the cache knows."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.gateway", "--port", str(port)],
        cwd=ROOT_DIR,
        env=stack.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            proc.poll()
            assert proc.returncode is None, "second API process exited"
            import time

            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cache_is_invalidated_across_two_api_processes(new_tenant: Callable[..., Tenant], second_api: str) -> None:
    pub = new_tenant()
    reader = httpx.Client(base_url=second_api, headers={"Authorization": f"Bearer {pub.keys[Role.ADMIN]}"})
    stats = reader.get("/api/marketplace/cache").json()
    for _ in range(3):
        reader.get("/api/plugins/list", params={"limit": 100})
    warm = reader.get("/api/marketplace/cache").json()
    assert warm["hits"] >= stats["hits"] + 2  # served from memory while nothing changed
    pid = uid("fresh")
    assert pub.publish(manifest(pid, pub.publisher_id or "")).status_code == 201  # through the first process
    found = reader.get("/api/plugins/list", params={"query": pid}).json()["items"]
    assert [p["plugin_id"] for p in found] == [pid]
    reader.close()


def test_audit_verify_detects_a_record_modified_in_dynamodb(stack: LocalStack, tenant: Tenant) -> None:
    for _ in range(3):
        tenant.admin.post("/api/keys", json={"name": uid("k"), "role": "member"})
    ok = tenant.admin.get("/api/audit/verify").json()
    assert ok["ok"] is True and ok["checked"] >= 3
    ddb = stack.client("dynamodb")
    table = stack.outputs["AuditLogTableName"]
    items = ddb.query(
        TableName=table,
        KeyConditionExpression="workspace_id = :w",
        ExpressionAttributeValues={":w": {"S": tenant.workspace_id}},
    )["Items"]
    victim = items[1]
    victim["doc"]["S"] = victim["doc"]["S"].replace('"outcome":"success"', '"outcome":"failed"')
    ddb.put_item(TableName=table, Item=victim)
    bad = tenant.admin.get("/api/audit/verify").json()
    assert bad["ok"] is False and bad["first_bad_seq"] == victim["seq"]["S"]
    assert_problem(tenant.client(Role.MEMBER).get("/api/audit/verify"), 403, "forbidden")


def test_signature_is_required_and_checked(tenant: Tenant) -> None:
    data = make_zip(manifest(uid("sig"), tenant.publisher_id or ""))
    t = tenant.admin.post("/api/plugins/uploads").json()
    httpx.put(t["url"], content=data, headers=t["headers"]).raise_for_status()
    assert_problem(tenant.admin.post("/api/plugins/versions", json={"upload_id": t["upload_id"]}), 422)
    bad = tenant.admin.post("/api/plugins/versions", json={"upload_id": t["upload_id"], "signature": "AAAA"})
    assert_problem(bad, 422, "invalid-signature")
