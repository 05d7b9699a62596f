"""The Lambda executor on moto (docker-less Lambda): function settings, role and policy exactly as generated;
and the Lambda bootstrap run in-process against the real broker endpoint over HTTP."""

from __future__ import annotations

import io
import json
import sys
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import pytest
from conftest import make_zip, manifest
from moto import mock_aws

from chalicelib.adapters.lambda_executor import HANDLER, LambdaExecutor
from chalicelib.adapters.memory import InMemoryArtifactStore, InMemoryVersionRepository
from chalicelib.adapters.system import SystemClock
from chalicelib.domain.capability_tokens import CapabilityTokenSigner
from chalicelib.domain.execution import InvocationRequest, Limits
from chalicelib.domain.iam import LAMBDA_TRUST_POLICY, PluginAwsContext, plugin_policy
from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models import Installation, PluginVersion

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = b"s" * 32
AWS = PluginAwsContext("dev", "us-east-1", "123456789012", "plugyard-dev-plugin-data", "plugyard-dev")


def version(plugin_id: str = "notes", scopes: list[str] | None = None) -> tuple[PluginVersion, bytes]:
    man = manifest(plugin_id, "acme", "1.2.0", permissions=scopes or [], resources={"memory_mb": 256, "timeout_s": 7.5})
    data = make_zip(man, {"handler.py": "def main(event, ctx):\n    return {'ok': True}\n"})
    v = (
        PluginVersion(
            plugin_id=plugin_id,
            version="1.2.0",
            manifest=Manifest.model_validate(man),
            artifact_sha256="a" * 64,
            artifact_key="artifacts/sha256/aaa.zip",
            size_bytes=len(data),
            state="approved",
            published_at=NOW,
            published_by="key:1",
            signature="sig",
        )
        if "signature" in PluginVersion.model_fields
        else PluginVersion(
            plugin_id=plugin_id,
            version="1.2.0",
            manifest=Manifest.model_validate(man),
            artifact_sha256="a" * 64,
            artifact_key="artifacts/sha256/aaa.zip",
            size_bytes=len(data),
            state="approved",
            published_at=NOW,
            published_by="key:1",
        )
    )
    return v, data


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws(config={"lambda": {"use_docker": False}}):  # type: ignore[arg-type]
        yield {
            "lambda": boto3.client("lambda", region_name="us-east-1"),
            "iam": boto3.client("iam", region_name="us-east-1"),
        }


def executor(aws: dict[str, Any], v: PluginVersion, data: bytes, boundary: str | None = None) -> LambdaExecutor:
    artifacts = InMemoryArtifactStore()
    artifacts.put(v.artifact_key, data)
    versions = InMemoryVersionRepository()
    versions.items[(v.plugin_id, v.version)] = v
    return LambdaExecutor(
        lambda_client=aws["lambda"],
        iam_client=aws["iam"],
        artifacts=artifacts,
        versions=versions,
        tokens=CapabilityTokenSigner(KEY),
        clock=SystemClock(),
        aws=lambda: AWS,
        broker_url="https://api.example.test/api/broker",
        permissions_boundary=boundary,
        sleep=lambda s: None,
    )


def test_deploy_creates_the_function_and_its_generated_role(aws: dict[str, Any]) -> None:
    v, data = version(scopes=["storage:read", "events:emit", "http:fetch"])
    name = executor(aws, v, data).deploy(v)
    assert name == "plugyard-dev-plg-notes-1-2-0"
    fn = aws["lambda"].get_function(FunctionName=name)
    cfg = fn["Configuration"]
    assert cfg["Runtime"] == "python3.11"
    assert cfg["Handler"] == HANDLER == "plugyard_runtime.lambda_handler"
    assert cfg["MemorySize"] == 256
    assert cfg["Timeout"] == 8
    assert cfg["Environment"]["Variables"] == {"PLUGYARD_BROKER_URL": "https://api.example.test/api/broker"}
    assert fn["Tags"] == {"plugyard:stage": "dev", "plugyard:plugin": "notes", "plugyard:version": "1.2.0"}
    role = aws["iam"].get_role(RoleName=name)["Role"]
    assert cfg["Role"] == role["Arn"]
    assert role["AssumeRolePolicyDocument"] == LAMBDA_TRUST_POLICY
    assert {t["Key"]: t["Value"] for t in role.get("Tags", [])} == fn["Tags"]
    assert aws["iam"].list_role_policies(RoleName=name)["PolicyNames"] == ["plugyard-plugin"]
    doc = aws["iam"].get_role_policy(RoleName=name, PolicyName="plugyard-plugin")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc == plugin_policy(
        AWS, plugin_id="notes", version="1.2.0", scopes=["events:emit", "http:fetch", "storage:read"]
    )
    assert aws["iam"].list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []


def test_plugin_roles_are_created_under_the_permissions_boundary(aws: dict[str, Any]) -> None:
    boundary = aws["iam"].create_policy(
        PolicyName="plugyard-dev-plugin-boundary",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    v, data = version(scopes=["storage:read"])
    name = executor(aws, v, data, boundary=boundary).deploy(v)
    role = aws["iam"].get_role(RoleName=name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_deployment_package_holds_plugin_and_runtime(aws: dict[str, Any]) -> None:
    from chalicelib.adapters.lambda_executor import build_function_zip

    _, data = version()
    names = set(zipfile.ZipFile(io.BytesIO(build_function_zip(data))).namelist())
    assert {
        "plugyard.json",
        "handler.py",
        "plugyard_runtime/lambda_bootstrap.py",
        "plugyard_runtime/__init__.py",
    } <= names


def test_deploy_is_idempotent(aws: dict[str, Any]) -> None:
    v, data = version()
    ex = executor(aws, v, data)
    assert ex.deploy(v) == ex.deploy(v)
    assert len(aws["lambda"].list_functions()["Functions"]) == 1


def test_invoke_deploys_on_demand_and_passes_a_bound_token(aws: dict[str, Any]) -> None:
    v, data = version()
    ex = executor(aws, v, data)
    sent: list[dict[str, Any]] = []
    real_invoke = aws["lambda"].invoke

    def spy(**kw: Any) -> Any:
        sent.append(json.loads(kw["Payload"]))
        return real_invoke(**kw)

    aws["lambda"].invoke = spy
    request = InvocationRequest(
        installation_id="inst-1",
        workspace_id="ws-1",
        plugin_id="notes",
        version="1.2.0",
        code_dir=v.artifact_key,
        entrypoint="handler:main",
        event={"x": 1},
        limits=Limits(memory_mb=256, timeout_s=7.5),
    )
    outcome = ex.invoke(request, lambda name, args: {})
    # moto's docker-less Lambda echoes the payload, which carries no status: recorded as a protocol violation.
    assert outcome.status == "crashed" and outcome.error == {
        "type": "ProtocolViolation",
        "message": "the function answered no status",
    }
    [payload] = sent
    assert payload["entrypoint"] == "handler:main" and payload["event"] == {"x": 1}
    claims = CapabilityTokenSigner(KEY).verify(payload["capability_token"], now=datetime.now(UTC))
    assert (claims.installation_id, claims.workspace_id, claims.plugin_id) == ("inst-1", "ws-1", "notes")


# --- the bootstrap, in-process, against the broker endpoint over real HTTP ------------------------------


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def broker_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from app import app
    from chalicelib.config import Settings
    from chalicelib.container import build_services, in_memory_adapters, reset_services
    from chalicelib.local.gateway import GatewayApp

    adapters = in_memory_adapters()
    svc = build_services(Settings(capability_key=KEY.decode()), adapters)
    reset_services(svc)
    v, _ = version(scopes=["storage:read", "storage:write"])
    adapters.versions.items[(v.plugin_id, v.version)] = v  # type: ignore[attr-defined]
    inst = Installation(
        installation_id="inst-1",
        workspace_id="ws-1",
        plugin_id="notes",
        version="1.2.0",
        granted=["storage:read", "storage:write"],
        installed_at=NOW,
        installed_by="key:1",
        updated_at=NOW,
    )
    adapters.installs.create(inst)
    adapters.permissions.grant("inst-1", ["storage:read", "storage:write"], by="key:1", version="1.2.0", at=NOW)
    server = make_server("127.0.0.1", 0, GatewayApp(app), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (tmp_path / "lambda_plugin.py").write_text(
        "def main(event, ctx):\n"
        "    ctx.storage.put('seen', event)\n"
        "    if event.get('emit'):\n"
        "        ctx.events.emit('plugin.notes.x', {})\n"
        "    return {'stored': ctx.storage.get('seen'), 'scopes': sorted(ctx.permissions.refresh())}\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}/api/broker", "signer": svc.invocations.tokens}
    finally:
        sys.path.remove(str(tmp_path))
        server.shutdown()
        reset_services(None)


def _event(
    signer: CapabilityTokenSigner, payload: dict[str, Any], *, installation_id: str = "inst-1"
) -> dict[str, Any]:
    token = signer.issue(
        installation_id=installation_id,
        workspace_id="ws-1",
        plugin_id="notes",
        version="1.2.0",
        invocation_id="inv-1",
        now=datetime.now(UTC),
    )
    return {"entrypoint": "lambda_plugin:main", "event": payload, "capability_token": token, "granted": []}


def test_bootstrap_calls_the_broker_endpoint_with_its_token(broker_api: dict[str, Any], monkeypatch: Any) -> None:
    from plugyard_runtime.lambda_bootstrap import lambda_handler

    monkeypatch.setenv("PLUGYARD_BROKER_URL", broker_api["url"])
    out = lambda_handler(_event(broker_api["signer"], {"n": 1}), None)
    assert out == {
        "status": "succeeded",
        "result": {"stored": {"n": 1}, "scopes": ["storage:read", "storage:write"]},
        "error": None,
    }
    denied = lambda_handler(_event(broker_api["signer"], {"emit": True}), None)
    assert denied["status"] == "permission_denied"
    assert "events:emit" in denied["error"]["message"]


def test_bootstrap_with_a_token_for_another_installation_fails(broker_api: dict[str, Any], monkeypatch: Any) -> None:
    from plugyard_runtime.lambda_bootstrap import lambda_handler

    monkeypatch.setenv("PLUGYARD_BROKER_URL", broker_api["url"])
    out = lambda_handler(_event(broker_api["signer"], {"n": 1}, installation_id="inst-other"), None)
    assert out["status"] == "failed"
