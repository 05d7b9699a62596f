"""The webhook delivery routes through chalice.test.Client on in-memory services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from conftest import PROBLEM_JSON

import app as app_module
from chalicelib.container import reset_services
from chalicelib.domain.deliveries import SendResult
from chalicelib.domain.permissions import Role
from unit.test_webhook_deliveries import URL, Harness, make_harness


class Api:
    def __init__(self, client: Client, h: Harness) -> None:
        self.client, self.h = client, h
        ws = h.caller.workspace_id
        self.keys = {r: h.services.auth.issue_key(ws, r, r.value, created_by="operator").key for r in Role}

    def call(self, method: str, path: str, body: Any = None, role: Role = Role.ADMIN) -> Any:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.keys[role]}"}
        data = json.dumps(body).encode() if body is not None else b""
        resp = getattr(self.client.http, method.lower())(path, headers=headers, body=data)
        return resp, (json.loads(resp.body) if resp.body else None)


@pytest.fixture
def api() -> Iterator[Api]:
    h = make_harness()
    reset_services(h.services)
    try:
        with Client(app_module.app) as client:
            yield Api(client, h)
    finally:
        reset_services(None)


def test_register_v1a_test_ping_list_get_redeliver_rotate_disable_enable_recover(api: Api) -> None:
    resp, hook = api.call(
        "POST", "/api/webhooks/register", {"url": URL, "event_types": ["task.completed"], "signature_scheme": "v1a"}
    )
    assert resp.status_code == 201 and hook["secret"] is None and hook["public_key"].startswith("whpk_")
    wid = hook["webhook_id"]
    api.h.sender.plan = [SendResult(status_code=500)]
    resp, ping = api.call("POST", f"/api/webhooks/{wid}/test")
    assert resp.status_code == 200 and ping["status"] == "failed" and ping["attempts"][0]["status_code"] == 500
    resp, page = api.call("GET", f"/api/webhooks/{wid}/deliveries?status=failed")
    assert resp.status_code == 200 and [d["delivery_id"] for d in page["items"]] == [ping["delivery_id"]]
    resp, page = api.call("GET", f"/api/webhooks/{wid}/deliveries?status=delivered", role=Role.MEMBER)
    assert resp.status_code == 200 and page["items"] == []
    resp, _ = api.call("GET", f"/api/webhooks/{wid}/deliveries?status=bogus")
    assert resp.status_code == 400 and resp.headers["Content-Type"] == PROBLEM_JSON
    resp, detail = api.call("GET", f"/api/webhooks/{wid}/deliveries/{ping['delivery_id']}")
    assert resp.status_code == 200 and detail["payload"]["type"] == "webhook.test"
    resp, view = api.call("POST", f"/api/webhooks/{wid}/deliveries/{ping['delivery_id']}/redeliver")
    assert resp.status_code == 202 and view["status"] == "pending"
    api.h.pump()
    _, detail = api.call("GET", f"/api/webhooks/{wid}/deliveries/{ping['delivery_id']}")
    assert detail["status"] == "delivered" and detail["attempt_count"] == 2
    resp, rotated = api.call("POST", f"/api/webhooks/{wid}/rotate-secret")
    assert resp.status_code == 200 and rotated["public_key"] != hook["public_key"]
    assert rotated["previous_public_key"] == hook["public_key"] and rotated["overlap_until"]
    resp, page = api.call("GET", f"/api/webhooks/{wid}/deliveries", role=Role.MEMBER)
    assert [d["last_attempt"]["attempt"] for d in page["items"]] == [2]  # each listed with its latest attempt
    assert page["items"][0]["last_attempt"]["status_code"] == page["items"][0]["last_status_code"]
    resp, _ = api.call("POST", f"/api/webhooks/{wid}/disable", role=Role.MEMBER)
    assert resp.status_code == 403 and resp.headers["Content-Type"] == PROBLEM_JSON
    resp, off = api.call("POST", f"/api/webhooks/{wid}/disable")
    assert resp.status_code == 200 and off["state"] == "disabled" and off["disabled_reason"].startswith("Disabled by")
    resp, _ = api.call("POST", "/api/webhooks/01JNOPE0000000000000000000/disable")
    assert resp.status_code == 404 and resp.headers["Content-Type"] == PROBLEM_JSON
    resp, on = api.call("POST", f"/api/webhooks/{wid}/enable")
    assert resp.status_code == 200 and on["state"] == "enabled" and on["disabled_reason"] is None
    resp, rec = api.call("POST", f"/api/webhooks/{wid}/recover", {"since": "2020-01-01T00:00:00Z"})
    assert resp.status_code == 202 and rec["queued"] == 0
    resp, upd = api.call("PATCH", f"/api/webhooks/{wid}", {"rate_limit_per_s": 5})
    assert resp.status_code == 200 and upd["rate_limit_per_s"] == 5
    resp, _ = api.call("POST", f"/api/webhooks/{wid}/rotate-secret", role=Role.MEMBER)
    assert resp.status_code == 403
    resp, _ = api.call("GET", f"/api/webhooks/{wid}/deliveries/01JNOPE0000000000000000000")
    assert resp.status_code == 404
    actions = {r.action for r in api.h.services.adapters.audit.items}
    assert {
        "webhook.test",
        "webhook.redeliver",
        "webhook.rotate_secret",
        "webhook.disable",
        "webhook.enable",
        "webhook.recover",
    } <= actions
    assert "webhook.update" in actions
