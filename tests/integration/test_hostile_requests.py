"""Hostile HTTP against the running API: no input yields a 5xx, and every refusal is a complete problem."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import PROBLEM_JSON, Tenant, assert_problem, uid

from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack

DEEP = b'{"plugin_id": ' + b"[" * 1000 + b"]" * 1000 + b"}"


def full_problem(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """A problem with every member a client relies on, its request id echoed in X-Request-Id."""
    body = assert_problem(resp, status, code)
    assert {"type", "title", "status", "instance", "request_id"} <= body.keys(), body
    assert resp.headers["x-request-id"] == body["request_id"]
    return body


@pytest.mark.parametrize("path", ["/api/plugins/install", "/api/webhooks/register", "/api/tasks"])
def test_deeply_nested_json_is_a_400(tenant: Tenant, path: str) -> None:
    resp = tenant.admin.post(path, content=DEEP, headers={"Content-Type": "application/json"})
    body = full_problem(resp, 400, "invalid-request")
    assert "nests 1001 levels" in body["detail"]


def test_a_json_body_sent_as_text_plain_is_415_and_changes_nothing(tenant: Tenant) -> None:
    pid = uid("ct")
    tenant.publish_ok(pid)
    body = f'{{"plugin_id": "{pid}", "grant": []}}'
    resp = tenant.admin.post("/api/plugins/install", content=body, headers={"Content-Type": "text/plain"})
    assert full_problem(resp, 415, "unsupported-media-type")["accepted"] == ["application/json"]
    assert tenant.admin.get("/api/installations").json()["items"] == []
    ok = tenant.admin.post("/api/plugins/install", content=body, headers={"Content-Type": "application/json"})
    assert ok.status_code == 201, ok.text


def _pages(client: httpx.Client, path: str) -> str:
    resp = client.get(path, params={"limit": 1})
    assert resp.status_code == 200, resp.text
    token = resp.json()["next_token"]
    assert token, f"{path} should have a second page"
    return str(token)


def test_next_token_is_bound_to_its_listing_and_workspace(new_tenant: Callable[..., Tenant]) -> None:
    a, b = new_tenant(), new_tenant()
    for client in (a.admin, b.admin):
        for i in range(2):
            assert client.post("/api/tasks", json={"title": f"t{i}"}).status_code == 201
    audit_a = _pages(a.admin, "/api/audit")
    second = a.admin.get("/api/audit", params={"limit": 1, "next_token": audit_a})
    assert second.status_code == 200 and second.json()["items"], second.text
    # A's audit token in B's workspace, and in another of A's listings: refused, not an empty page.
    full_problem(b.admin.get("/api/audit", params={"next_token": audit_a}), 400, "invalid-request")
    full_problem(a.admin.get("/api/tasks", params={"next_token": audit_a}), 400, "invalid-request")
    full_problem(a.admin.get("/api/audit", params={"next_token": audit_a, "action": "task.create"}), 400)
    tasks_a = _pages(a.admin, "/api/tasks")
    full_problem(b.admin.get("/api/tasks", params={"next_token": tasks_a}), 400, "invalid-request")


FORGED_TOKENS = [
    "eyJ3b3Jrc3BhY2VfaWQiOiJ3cy14In0",  # {"workspace_id":"ws-x"}: an unsealed storage position
    "eyJ3b3Jrc3BhY2VfaWQiOiJ3cy14In0.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "%%%",
    "x" * 3000,
]


def test_forged_next_tokens_are_400(tenant: Tenant) -> None:
    paths = ["/api/installations", "/api/tasks", "/api/audit", "/api/webhooks", "/api/installations/ghost/invocations"]
    for path in paths:
        for token in FORGED_TOKENS:
            full_problem(tenant.admin.get(path, params={"next_token": token}), 400, "invalid-request")


def test_percent_encoded_path_parameters_are_never_decoded_into_routing(tenant: Tenant) -> None:
    raw = httpx.Client(base_url=tenant.api_url, headers=dict(tenant.admin.headers))
    try:
        for target, name in (
            ("/api/webhooks/%3Fx", "?x"),
            ("/api/webhooks/abc%3Fx", "abc?x"),
            ("/api/webhooks/a%3Bb", "a;b"),
        ):
            resp = raw.send(raw.build_request("GET", httpx.URL(tenant.api_url + target)))
            body = full_problem(resp, 404, "webhook-not-found")
            assert body["webhook_id"] == name and body["instance"] == target
    finally:
        raw.close()


def test_an_empty_path_parameter_is_a_clear_404(tenant: Tenant) -> None:
    for path in ("/api/installations//invocations", "/api/webhooks//deliveries", "/api/tasks//run"):
        resp = tenant.admin.request("POST" if path.endswith("/run") else "GET", path)
        body = full_problem(resp, 404, "path-parameter-empty")
        assert body["parameter"] in ("installation_id", "webhook_id", "task_id") and body["instance"] == path


def test_gateway_404_and_405_are_complete_problems(tenant: Tenant) -> None:
    body = full_problem(tenant.admin.get("/api/no/such/route"), 404, "route-not-found")
    assert body["instance"] == "/api/no/such/route"
    resp = tenant.admin.delete("/api/installations")
    assert full_problem(resp, 405)["instance"] == "/api/installations"


def _raw_http(api_url: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    parts = urlsplit(api_url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status_line, headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET /api/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_request_gets_a_problem_not_plain_text(stack: LocalStack, request_bytes: bytes) -> None:
    status_line, headers, body = _raw_http(stack.api_url, request_bytes)
    assert status_line.split(" ")[1] == "400", status_line
    assert headers["content-type"] == PROBLEM_JSON
    problem = httpx.Response(400, content=body).json()
    assert problem["status"] == 400 and problem["type"].endswith("/malformed-request")
    assert problem["request_id"] == headers["x-request-id"] and "instance" in problem


def test_a_workspace_without_a_publisher_gets_no_upload_url(new_tenant: Callable[..., Tenant]) -> None:
    consumer = new_tenant(publisher=False)
    resp = consumer.admin.post("/api/plugins/uploads")
    body = full_problem(resp, 403, "forbidden")
    assert "not registered as a publisher" in body["detail"] and "url" not in body


def test_over_long_webhook_urls_are_refused(tenant: Tenant) -> None:
    url = "https://93.184.216.34/" + "a" * 3000
    resp = tenant.admin.post("/api/webhooks/register", json={"url": url, "event_types": ["plugin.installed"]})
    assert resp.status_code == 422, resp.text
    assert tenant.client(Role.ADMIN).get("/api/webhooks").json()["items"] == []
