"""Development installations at the HTTP edge (chalice.test.Client, in-memory services): where they are allowed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice.test import Client
from conftest import make_zip, manifest

import app as app_module
from chalicelib.api.openapi import openapi_document
from chalicelib.config import Settings
from chalicelib.container import reset_services
from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack
from unit.conftest import World, make_world

ROOT = Path(__file__).resolve().parents[2]


def client_for(world: World) -> Iterator[tuple[Client, dict[Role, str], str]]:
    ws = world.workspace()
    keys = {r: world.services.auth.issue_key(ws, r, r.value, created_by="operator").key for r in Role}
    reset_services(world.services)
    try:
        with Client(app_module.app) as client:
            yield client, keys, ws
    finally:
        reset_services(None)


def put(client: Client, key: str, plugin_id: str, data: bytes) -> Any:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/zip"}
    return client.http.put(f"/api/dev/installations/{plugin_id}", headers=headers, body=data)


@pytest.fixture
def disabled() -> Iterator[tuple[Client, dict[Role, str], str, World]]:
    world = make_world(dev_installations=False)
    for client, keys, ws in client_for(world):
        yield client, keys, ws, world


@pytest.fixture
def enabled() -> Iterator[tuple[Client, dict[Role, str], str, World]]:
    world = make_world(dev_installations=True, max_body_bytes=4096)
    for client, keys, ws in client_for(world):
        yield client, keys, ws, world


def test_a_stage_without_dev_installations_refuses_with_a_problem_and_audits_it(
    disabled: tuple[Client, dict[Role, str], str, World],
) -> None:
    client, keys, ws, world = disabled
    resp = put(client, keys[Role.ADMIN], "my-plugin", make_zip(manifest("my-plugin", "acme")))
    assert resp.status_code == 403
    body = json.loads(resp.body)
    assert body["type"].endswith("/dev-installations-disabled") and "make run" in body["detail"]
    records = [r for r in world.adapters.audit.items if r.workspace_id == ws and r.action.startswith("plugin.")]
    assert [(r.action, r.outcome) for r in records] == [("plugin.dev.upload", "denied")]
    assert world.adapters.versions.list_versions("my-plugin") == []


def test_an_upload_larger_than_a_json_body_is_accepted(enabled: tuple[Client, dict[Role, str], str, World]) -> None:
    client, keys, ws, world = enabled
    # Random text compresses badly: the zip is over max_body_bytes (4096), far under max_artifact_bytes.
    data = make_zip(manifest("big-plugin", "acme"), {"words.txt": secrets.token_hex(8000)})
    assert len(data) > 4096
    resp = put(client, keys[Role.ADMIN], "big-plugin", data)
    assert resp.status_code == 200, resp.body
    body = json.loads(resp.body)
    assert body["installation"]["development"] is True and body["installation"]["workspace_id"] == ws
    [version] = world.adapters.versions.list_versions("big-plugin")
    assert version.state == "development" and version.deployment == "ready"
    assert world.adapters.plugins.get("big-plugin") is None  # no marketplace record, no install count


def test_only_an_admin_may_upload(enabled: tuple[Client, dict[Role, str], str, World]) -> None:
    client, keys, _, _ = enabled
    for role in (Role.MEMBER, Role.PUBLISHER, Role.REVIEWER):
        assert put(client, keys[role], "p", make_zip(manifest("p", "acme"))).status_code == 403


def test_openapi_describes_the_zip_upload() -> None:
    op = openapi_document()["paths"]["/api/dev/installations/{plugin_id}"]["put"]
    assert "application/zip" in op["requestBody"]["content"]
    assert {"200", "403", "409", "413", "415", "422"} <= set(op["responses"])
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/DevInstallation")


def test_make_run_allows_them_and_the_packaged_template_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLUGYARD_DEV_INSTALLATIONS", raising=False)
    assert Settings().dev_installations is False
    stack = LocalStack(api_port=1, moto_port=2)
    try:
        assert stack.env()["PLUGYARD_DEV_INSTALLATIONS"] == "true"
    finally:
        stack.stop()
    template = yaml.safe_load((ROOT / "infra" / "app.yaml").read_text())
    # Every function's environment (the globals' and each function's own) leaves the setting at its default, off.
    environments = [template.get("Globals", {}).get("Function", {}).get("Environment", {})]
    environments += [r.get("Properties", {}).get("Environment", {}) for r in template["Resources"].values()]
    assert all("PLUGYARD_DEV_INSTALLATIONS" not in env.get("Variables", {}) for env in environments)
    assert any("PLUGYARD_EXECUTOR" in env.get("Variables", {}) for env in environments)  # the walk sees them


def test_a_lambda_stage_refuses_rather_than_run_stale_code(enabled: tuple[Client, dict[Role, str], str, World]) -> None:
    client, keys, _, world = enabled
    deployer = world.services.dev_installs._deployer
    synchronous = deployer.synchronous
    deployer.synchronous = False  # as the Lambda deployer: functions are created by the deploy queue's worker
    try:
        resp = put(client, keys[Role.ADMIN], "lambda-plugin", make_zip(manifest("lambda-plugin", "acme")))
    finally:
        deployer.synchronous = synchronous
    assert resp.status_code == 403
    body = json.loads(resp.body)
    assert body["type"].endswith("/dev-installations-disabled") and "Lambda" in body["detail"]
    assert world.adapters.versions.list_versions("lambda-plugin") == []
