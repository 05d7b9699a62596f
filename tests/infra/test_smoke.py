"""`make smoke`'s script walks the main flow against the local stack, so the deploy smoke test cannot rot.

The same infra/smoke.py that checks a deployed API (publish → approve → webhook → install → invoke →
event → signed delivery) runs here against the local stack over HTTP, with a loopback webhook receiver
(private webhook URLs allowed, as under ``make run``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import httpx
import pytest
from plugin_harness import own_stack

from chalicelib.domain.permissions import Role
from chalicelib.local.receiver import Answer, Receiver
from chalicelib.local.stack import LocalStack

from .support import load_module

smoke = load_module("smoke")


@pytest.fixture(scope="module")
def open_stack() -> Iterator[LocalStack]:
    with own_stack({"PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true"}) as s:
        yield s


def test_the_smoke_walk_passes_against_the_local_stack(open_stack: LocalStack) -> None:
    ops = open_stack.operator_services()
    ops.auth.create_workspace("ws-smoke", "Smoke publisher", publisher_id="smoke-pub")
    admin = ops.auth.issue_key("ws-smoke", Role.ADMIN, "smoke admin", created_by="operator").key
    ops.auth.create_workspace("ws-smoke-platform", "Smoke platform")
    reviewer = ops.auth.issue_key("ws-smoke-platform", Role.REVIEWER, "smoke reviewer", created_by="operator").key
    lines: list[str] = []
    with Receiver(default=Answer(204)) as receiver:
        url = receiver.plan("/smoke")
        out = smoke.run_smoke(
            open_stack.api_url, admin_key=admin, reviewer_key=reviewer, webhook_url=url, timeout_s=60, say=lines.append
        )
        (received,) = receiver.requests_to("/smoke")
    assert out["delivery"]["status"] == "delivered"
    body = json.loads(received.body)
    assert body["type"] == f"plugin.{out['plugin_id']}.smoked" and body["data"] == {"run": out["run"]}
    # a receiver's check (Standard Webhooks): HMAC-SHA256 of "id.timestamp.body" with the shown secret
    secret = base64.b64decode(out["webhook_secret"].removeprefix("whsec_"))
    h = received.headers
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in h["webhook-signature"].split(" ")
    steps = [line.split("] ", 1)[1].split(" ")[0].rstrip(":") for line in lines]
    assert steps == ["workspace", "published", "approved", "webhook", "installed", "invoked", "delivered", "cleaned"]
    # cleaned up: the installation is gone from the workspace
    listed = httpx.get(f"{open_stack.api_url}/api/installations", headers={"Authorization": f"Bearer {admin}"})
    assert out["installation_id"] not in listed.text


def test_smoke_without_keys_says_what_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("PLUGYARD_SMOKE_ADMIN_KEY", "PLUGYARD_SMOKE_REVIEWER_KEY", "PLUGYARD_SMOKE_WEBHOOK_URL"):
        monkeypatch.delenv(var, raising=False)
    assert smoke.main(["--api", "http://127.0.0.1:9"]) == 2
    assert "PLUGYARD_SMOKE_ADMIN_KEY" in capsys.readouterr().err
