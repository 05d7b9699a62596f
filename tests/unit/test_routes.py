"""The HTTP edge through chalice.test.Client on in-memory services: problems, auth, limits, OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from chalice.test import Client
from conftest import PROBLEM_JSON

import app as app_module
from chalicelib.container import reset_services
from chalicelib.domain.permissions import Role
from unit.conftest import World, make_world


class Api:
    def __init__(self, client: Client, world: World) -> None:
        self.client = client
        self.world = world
        ws = world.workspace(publisher="acme")
        self.keys = {r: world.services.auth.issue_key(ws, r, r.value, created_by="operator").key for r in Role}

    def call(
        self,
        method: str,
        path: str,
        *,
        role: Role | None = Role.ADMIN,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        h = {"Content-Type": "application/json", **(headers or {})}
        if role is not None:
            h["Authorization"] = f"Bearer {self.keys[role]}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return getattr(self.client.http, method.lower())(path, headers=h, body=data)


@pytest.fixture
def api() -> Iterator[Api]:
    world = make_world(max_body_bytes=4096)
    reset_services(world.services)
    try:
        with Client(app_module.app) as client:
            yield Api(client, world)
    finally:
        reset_services(None)


def problem(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.body
    assert resp.headers["Content-Type"] == PROBLEM_JSON
    body = json.loads(resp.body)
    assert body["status"] == status and body["type"].startswith("https://plugyard.dev/problems/")
    if code:
        assert body["type"].endswith("/" + code), body
    assert b"Traceback" not in resp.body
    return dict(body)


def test_malformed_json_is_400(api: Api) -> None:
    problem(api.call("POST", "/api/plugins/install", raw=b"{oops"), 400, "invalid-request")


def test_empty_body_is_400(api: Api) -> None:
    problem(api.call("POST", "/api/plugins/install", raw=b""), 400, "invalid-request")


def test_non_object_body_is_422(api: Api) -> None:
    problem(api.call("POST", "/api/plugins/install", body=[1, 2]), 422, "validation-failed")


def test_unknown_fields_are_refused_by_name(api: Api) -> None:
    body = problem(api.call("POST", "/api/plugins/install", body={"plugin_id": "x", "sudo": True}), 422)
    assert [e["loc"] for e in body["errors"]] == ["sudo"]


def test_wrong_types_are_refused_by_name(api: Api) -> None:
    body = problem(api.call("POST", "/api/plugins/install", body={"plugin_id": "x", "grant": "all"}), 422)
    assert [e["loc"] for e in body["errors"]] == ["grant"]


def test_oversize_body_is_413(api: Api) -> None:
    body = problem(api.call("POST", "/api/plugins/install", raw=b'{"plugin_id": "' + b"x" * 5000 + b'"}'), 413)
    assert body["limit"] == 4096


def test_method_not_allowed_is_405_problem(api: Api) -> None:
    resp = api.call("PUT", "/api/plugins/install", body={})
    problem(resp, 405, "method-not-allowed")


@pytest.mark.parametrize("limit", ["0", "101", "ten", ""])  # "": `?limit=` is no integer either
def test_bad_limit_is_400(api: Api, limit: str) -> None:
    problem(api.call("GET", f"/api/installations?limit={limit}"), 400, "invalid-request")
    problem(api.call("GET", f"/api/plugins/list?limit={limit}"), 400, "invalid-request")


def test_tampered_next_token_is_400(api: Api) -> None:
    problem(api.call("GET", "/api/audit?next_token=%21%21"), 400)
    problem(api.call("GET", "/api/webhooks?next_token=eyJ4IjoxfQ"), 400)  # {"x":1}


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer pyk_nope", "Basic dXNlcjpwdw==", "Token abc"])
def test_missing_or_invalid_bearer_is_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    resp = api.call("GET", "/api/installations", role=None, headers=headers)
    problem(resp, 401, "unauthenticated")


def test_forbidden_is_403_with_role_and_action(api: Api) -> None:
    body = problem(api.call("POST", "/api/plugins/install", role=Role.MEMBER, body={"plugin_id": "x"}), 403)
    assert (body["role"], body["action"]) == ("member", "installations:manage")


def test_not_found_problem_names_the_instance(api: Api) -> None:
    body = problem(api.call("GET", "/api/plugins/ghost-plugin"), 404, "plugin-not-found")
    assert body["instance"] == "/api/plugins/ghost-plugin" and body["request_id"]


def test_unexpected_errors_are_500_without_internals(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(api.world.services.webhooks, "list", boom)
    resp = api.call("GET", "/api/webhooks")
    body = problem(resp, 500, "internal-error")
    assert "secret internal" not in resp.body.decode() and body["request_id"] == resp.headers["X-Request-Id"]


def test_success_responses_carry_json_and_request_id(api: Api) -> None:
    resp = api.call("GET", "/api/me", role=Role.REVIEWER)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    assert json.loads(resp.body)["role"] == "reviewer" and resp.headers["X-Request-Id"]


def test_key_management_over_http(api: Api) -> None:
    made = api.call("POST", "/api/keys", body={"name": "ci", "role": "member"})
    assert made.status_code == 201
    key = json.loads(made.body)
    listed = json.loads(api.call("GET", "/api/keys").body)["items"]
    assert key["key_id"] in [k["key_id"] for k in listed] and all("key" not in k for k in listed)
    assert api.call("DELETE", f"/api/keys/{key['key_id']}").status_code == 204
    problem(api.call("DELETE", f"/api/keys/{key['key_id']}"), 404)
    problem(api.call("POST", "/api/keys", body={"name": "x", "role": "god"}), 422)


def test_event_catalog_lists_host_types(api: Api) -> None:
    body = json.loads(api.call("GET", "/api/events/catalog", role=Role.MEMBER).body)
    assert "task.completed" in {t["type"] for t in body["types"]}


def test_health_needs_no_key_and_ready_reports_checks(api: Api) -> None:
    assert json.loads(api.call("GET", "/health", role=None).body) == {"status": "ok", "checks": {}}
    api.world.adapters.readiness["dynamodb"] = lambda: None
    assert json.loads(api.call("GET", "/health/ready", role=None).body)["checks"] == {"dynamodb": "ok"}


def test_ready_is_503_when_a_dependency_is_down(api: Api) -> None:
    def down() -> None:
        raise ConnectionError("nope")

    api.world.adapters.readiness["s3"] = down
    body = problem(api.call("GET", "/health/ready", role=None), 503, "not-ready")
    assert body["checks"] == {"s3": "unavailable"}


# --- OpenAPI ----------------------------------------------------------------------------


@pytest.fixture
def openapi(api: Api) -> dict[str, Any]:
    resp = api.call("GET", "/api/openapi.json", role=None)
    assert resp.status_code == 200
    return dict(json.loads(resp.body))


def test_openapi_is_a_valid_3_1_document(openapi: dict[str, Any]) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator

    assert openapi["openapi"].startswith("3.1")
    validate(openapi, cls=OpenAPIV31SpecValidator)


def test_every_registered_route_is_documented(openapi: dict[str, Any]) -> None:
    routes = app_module.app.routes
    documented = {(p, m.upper()) for p, ops in openapi["paths"].items() for m in ops}
    registered = {(p, m) for p, methods in routes.items() for m in methods}
    assert registered == documented


def test_every_ref_resolves(openapi: dict[str, Any]) -> None:
    text = json.dumps(openapi)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert refs and refs <= set(openapi["components"]["schemas"])


def test_authenticated_operations_declare_security_and_401(openapi: dict[str, Any]) -> None:
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            if path.startswith(("/api/broker/", "/api/triggers/")):
                continue  # authenticated by capability token / trigger secret, not an API key
            if path.startswith(("/health", "/console")) or path == "/api/openapi.json":
                assert "security" not in op
            else:
                assert op["security"] == [{"apiKey": []}] and "401" in op["responses"], (method, path)


def test_problems_a_view_builds_itself_carry_instance_and_request_id(api: Api) -> None:
    resp = api.call("POST", "/api/broker/capabilities/storage.get", role=None, body={"name": "storage.put", "args": {}})
    body = problem(resp, 400, "invalid-request")
    assert body["instance"] == "/api/broker/capabilities/storage.get"
    assert body["request_id"] == resp.headers["X-Request-Id"]
    assert body["error"] == {"type": "InvalidRequest", "message": "name ≠ path"}


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (ClientError({"Error": {"Code": "ThrottlingException"}}, "Decrypt"), 503),
        (
            ClientError(
                {"Error": {"Code": "KMSInternalException"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Decrypt"
            ),
            503,
        ),
        (EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com"), 503),
        (
            ClientError(
                {"Error": {"Code": "AccessDeniedException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Decrypt"
            ),
            500,
        ),
    ],
)
def test_a_busy_aws_service_is_a_503_to_retry_but_a_denied_call_is_our_500(
    api: Api, monkeypatch: pytest.MonkeyPatch, raised: Exception, status: int
) -> None:
    def failing(*a: Any, **k: Any) -> Any:
        try:
            raise raised
        except Exception as exc:
            raise RuntimeError("wrapped by a library") from exc

    monkeypatch.setattr(api.world.services.webhooks, "list", failing)
    resp = api.call("GET", "/api/webhooks")
    body = problem(resp, status, "dependency-unavailable" if status == 503 else "internal-error")
    assert ("Retry-After" in resp.headers) == (status == 503)
    assert "kms" not in resp.body.decode().lower() and body["request_id"] == resp.headers["X-Request-Id"]
