"""Installing, webhooks, audit, tenant isolation and the HTTP edge, over real HTTP against the stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import PROBLEM_JSON, Tenant, assert_problem, uid

from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack

# A public IP literal: getaddrinfo answers it without DNS, and the sandbox has no network at all.
PUBLIC_URL = "https://93.184.216.34/hooks/plugyard"
CONFIG_SCHEMA = {
    "type": "object",
    "required": ["channel"],
    "properties": {"channel": {"type": "string", "pattern": "^#[a-z0-9-]+$"}},
    "additionalProperties": False,
}
SCOPES = ["http:fetch", "tasks:read"]


@pytest.fixture
def plugin_id(tenant: Tenant) -> str:
    pid = uid("ins")
    tenant.publish_ok(pid, "1.0.0", permissions=SCOPES, config_schema=CONFIG_SCHEMA)
    tenant.publish_ok(pid, "1.1.0", permissions=SCOPES, config_schema=CONFIG_SCHEMA)
    return pid


def install(client: httpx.Client, pid: str, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": body.pop("idempotency_key")} if "idempotency_key" in body else {}
    payload = {"plugin_id": pid, "grant": SCOPES, "config": {"channel": "#ops"}, **body}
    return client.post("/api/plugins/install", json=payload, headers=headers)


def audit_records(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    resp = client.get("/api/audit", params={"limit": "100", **params})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


# --- install ----------------------------------------------------------------------------


def test_install_latest_and_read_it_back(tenant: Tenant, plugin_id: str) -> None:
    resp = install(tenant.admin, plugin_id)
    assert resp.status_code == 201, resp.text
    inst = resp.json()
    assert {"installation_id", "plugin_id", "version", "state", "granted"} <= set(inst)
    assert (inst["plugin_id"], inst["version"], inst["state"], inst["granted"]) == (
        plugin_id,
        "1.1.0",
        "enabled",
        SCOPES,
    )
    member = tenant.client(Role.MEMBER)
    assert member.get(f"/api/installations/{inst['installation_id']}").json() == inst
    assert [i["installation_id"] for i in member.get("/api/installations").json()["items"]] == [inst["installation_id"]]
    assert tenant.admin.get(f"/api/plugins/{plugin_id}").json()["install_count"] == 1
    assert_problem(install(tenant.admin, plugin_id), 409, "conflict")
    assert tenant.admin.delete(f"/api/installations/{inst['installation_id']}").status_code == 204
    assert_problem(tenant.admin.get(f"/api/installations/{inst['installation_id']}"), 404)
    assert tenant.admin.get("/api/installations").json()["items"] == []
    assert tenant.admin.get(f"/api/plugins/{plugin_id}").json()["install_count"] == 0
    actions = [(r["action"], r["outcome"]) for r in audit_records(tenant.admin)]
    assert ("plugin.uninstall", "success") in actions and ("plugin.install", "success") in actions


def test_install_an_exact_version(tenant: Tenant, plugin_id: str) -> None:
    assert install(tenant.admin, plugin_id, version="1.0.0").json()["version"] == "1.0.0"


def test_missing_scopes_are_named(tenant: Tenant, plugin_id: str) -> None:
    body = assert_problem(install(tenant.admin, plugin_id, grant=["tasks:read"]), 422, "scopes-not-granted")
    assert body["missing_scopes"] == ["http:fetch"]
    [rec] = audit_records(tenant.admin, action="plugin.install")
    assert (rec["outcome"], rec["target"]) == ("denied", f"{plugin_id}@1.1.0")


def test_install_refusals(tenant: Tenant, plugin_id: str) -> None:
    assert_problem(install(tenant.admin, uid("ghost")), 404, "plugin-not-found")
    assert_problem(install(tenant.admin, plugin_id, version="9.9.9"), 404, "version-not-found")
    body = assert_problem(
        install(tenant.admin, plugin_id, config={"channel": "no hash", "x": 1}), 422, "invalid-config"
    )
    assert {e["loc"] for e in body["errors"]} == {"channel", "(root)"}
    assert tenant.admin.get("/api/installations").json()["items"] == []


def test_idempotency_key_replays_the_same_body_once(tenant: Tenant, plugin_id: str) -> None:
    key = uid("idem")
    first = install(tenant.admin, plugin_id, idempotency_key=key)
    again = install(tenant.admin, plugin_id, idempotency_key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(tenant.admin.get("/api/installations").json()["items"]) == 1
    installs = [r for r in audit_records(tenant.admin, action="plugin.install") if r["outcome"] == "success"]
    assert len(installs) == 1
    assert_problem(
        install(tenant.admin, plugin_id, idempotency_key=key, config={"channel": "#other"}),
        422,
        "idempotency-key-reused",
    )
    assert_problem(install(tenant.admin, plugin_id, idempotency_key="k" * 256), 400)


# --- roles ------------------------------------------------------------------------------


def test_member_cannot_install_and_it_is_audited(tenant: Tenant, plugin_id: str) -> None:
    body = assert_problem(install(tenant.client(Role.MEMBER), plugin_id), 403, "forbidden")
    assert body["role"] == "member"
    denied = audit_records(tenant.client(Role.REVIEWER), action="plugin.install")
    assert [(r["outcome"], r["detail"]["role"]) for r in denied] == [("denied", "member")]


def test_publisher_cannot_install_and_reviewer_reads_but_cannot_change(tenant: Tenant, plugin_id: str) -> None:
    assert_problem(install(tenant.client(Role.PUBLISHER), plugin_id), 403)
    reviewer = tenant.client(Role.REVIEWER)
    assert reviewer.get("/api/audit").status_code == 200
    assert_problem(install(reviewer, plugin_id), 403)
    assert_problem(
        reviewer.post("/api/webhooks/register", json={"url": PUBLIC_URL, "event_types": ["task.failed"]}), 403
    )
    assert_problem(tenant.client(Role.MEMBER).get("/api/audit"), 403)
    assert_problem(tenant.client(Role.PUBLISHER).get("/api/installations"), 403)


# --- webhooks ---------------------------------------------------------------------------


def register(client: httpx.Client, url: str = PUBLIC_URL, events: list[str] | None = None) -> httpx.Response:
    return client.post("/api/webhooks/register", json={"url": url, "event_types": events or ["task.completed"]})


def test_webhook_secret_is_shown_once_and_stored_encrypted(stack: LocalStack, tenant: Tenant) -> None:
    resp = register(tenant.admin)
    assert resp.status_code == 201, resp.text
    hook = resp.json()
    secret = hook["secret"]
    assert secret.startswith("whsec_") and hook["url"] == PUBLIC_URL
    member = tenant.client(Role.MEMBER)
    got = member.get(f"/api/webhooks/{hook['webhook_id']}")
    listed = member.get("/api/webhooks")
    assert got.status_code == listed.status_code == 200
    assert "secret" not in got.json() and secret not in got.text and secret not in listed.text
    assert [h["webhook_id"] for h in listed.json()["items"]] == [hook["webhook_id"]]
    ddb = stack.client("dynamodb")
    item = ddb.get_item(
        TableName="plugyard-dev-webhooks",
        Key={"workspace_id": {"S": tenant.workspace_id}, "webhook_id": {"S": hook["webhook_id"]}},
    )
    raw = json.dumps(item["Item"])
    assert hook["webhook_id"] in raw and secret not in raw and secret.removeprefix("whsec_") not in raw
    assert secret not in json.dumps(audit_records(tenant.admin))
    assert tenant.admin.delete(f"/api/webhooks/{hook['webhook_id']}").status_code == 204
    assert_problem(member.get(f"/api/webhooks/{hook['webhook_id']}"), 404, "webhook-not-found")


def test_webhook_refusals(tenant: Tenant) -> None:
    body = assert_problem(register(tenant.admin, events=["task.completed", "task.exploded"]), 422)
    assert body["unknown_event_types"] == ["task.exploded"]
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x",
        "http://[::1]/x",
    ]:
        assert_problem(register(tenant.admin, url), 422, "unsafe-url")
    assert_problem(register(tenant.admin, "not a url"), 422, "validation-failed")
    assert tenant.admin.get("/api/webhooks").json()["items"] == []
    refused = [r for r in audit_records(tenant.admin, action="webhook.register") if r["outcome"] == "denied"]
    assert len(refused) == 5


# --- isolation --------------------------------------------------------------------------


def test_workspace_b_sees_nothing_of_workspace_a(new_tenant: Callable[..., Tenant]) -> None:
    a, b = new_tenant(), new_tenant()
    pid = uid("iso")
    a.publish_ok(pid)
    inst = install(a.admin, pid, grant=[], config={}).json()
    hook = register(a.admin).json()
    for path in (f"/api/installations/{inst['installation_id']}", f"/api/webhooks/{hook['webhook_id']}"):
        assert_problem(b.admin.get(path), 404)
        assert_problem(b.admin.delete(path), 404)
    assert b.admin.get("/api/installations").json()["items"] == []
    assert b.admin.get("/api/webhooks").json()["items"] == []
    b_audit = json.dumps(audit_records(b.admin))
    assert inst["installation_id"] not in b_audit and hook["webhook_id"] not in b_audit
    # A's things are intact; B may still install the same public plugin in its own workspace.
    assert a.admin.get(f"/api/installations/{inst['installation_id']}").status_code == 200
    assert install(b.admin, pid, grant=[], config={}).status_code == 201


# --- audit ------------------------------------------------------------------------------


def test_every_mutation_leaves_an_audit_record(tenant: Tenant) -> None:
    pid = uid("aud")
    tenant.publish_ok(pid)
    inst = install(tenant.admin, pid, grant=[], config={}).json()
    hook = register(tenant.admin).json()
    tenant.admin.delete(f"/api/webhooks/{hook['webhook_id']}")
    tenant.admin.delete(f"/api/installations/{inst['installation_id']}")
    records = audit_records(tenant.client(Role.REVIEWER))
    assert all({"actor", "action", "target", "outcome", "time"} <= set(r) for r in records)
    got = [(r["action"], r["target"], r["outcome"]) for r in records]
    expected = [
        ("plugin.uninstall", inst["installation_id"], "success"),
        ("webhook.delete", hook["webhook_id"], "success"),
        ("webhook.register", hook["webhook_id"], "success"),
        ("plugin.install", inst["installation_id"], "success"),
        ("plugin.version.deploy", f"{pid}@1.0.0", "success"),  # the approved version made runnable
        ("plugin.version.approve", f"{pid}@1.0.0", "success"),  # the reviewer's decision, in the owner's log
        ("plugin.version.publish", f"{pid}@1.0.0", "success"),
    ]
    assert got[: len(expected)] == expected  # newest first
    reviewer_actions = {"plugin.version.approve", "plugin.version.deploy"}
    admin_actions = [r for r in records[:7] if r["action"] not in reviewer_actions]
    assert {r["actor"] for r in admin_actions} == {records[0]["actor"]} and records[0]["actor"].startswith("key:")
    assert records[5]["actor"] != records[0]["actor"]  # approved by the reviewer, not the admin
    only = audit_records(tenant.admin, action="webhook.register")
    assert [r["target"] for r in only] == [hook["webhook_id"]]
    page = tenant.admin.get("/api/audit", params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_token"]


# --- the HTTP edge ----------------------------------------------------------------------


def test_health_and_readiness(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.api_url}/health").json()["status"] == "ok"
    ready = httpx.get(f"{stack.api_url}/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and set(ready.json()["checks"]) >= {"dynamodb", "s3", "kms"}


def test_openapi_is_served_without_auth(stack: LocalStack) -> None:
    from openapi_spec_validator import validate

    resp = httpx.get(f"{stack.api_url}/api/openapi.json")
    assert resp.status_code == 200 and resp.json()["openapi"].startswith("3.1")
    validate(resp.json())


def test_unknown_route_is_a_404_problem(stack: LocalStack, tenant: Tenant) -> None:
    assert_problem(tenant.admin.get("/api/no/such/route"), 404, "route-not-found")
    assert_problem(httpx.get(f"{stack.api_url}/nothing-here"), 404)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/installations", {"headers": {"Authorization": "Bearer nope"}}, 401),
        ("GET", "/api/installations", {"headers": {"Authorization": ""}}, 401),
        (
            "POST",
            "/api/plugins/install",
            {"content": b"{bad json", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        ("POST", "/api/plugins/install", {"content": b'{"plugin_id": "x"}'}, 415),
        ("POST", "/api/plugins/install", {"json": {"plugin_id": "x", "extra": 1}}, 422),
        ("POST", "/api/plugins/install", {"json": {"plugin_id": ["x"]}}, 422),
        ("POST", "/api/plugins/install", {"content": b'{"plugin_id":"' + b"x" * 300_000 + b'"}'}, 413),
        ("POST", "/api/plugins/install", {"content": b"x" * 2_000_000}, 413),
        ("PATCH", "/api/installations", {}, 405),
        ("GET", "/api/installations?limit=0", {}, 400),
        ("GET", "/api/plugins/list?limit=abc", {}, 400),
    ],
)
def test_every_4xx_is_a_problem_without_internals(
    tenant: Tenant, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    resp = tenant.admin.request(method, path, **kwargs)
    assert_problem(resp, status)
    assert resp.headers["content-type"] == PROBLEM_JSON
