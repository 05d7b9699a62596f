"""Plugins on Lambda, against a moto server in docker-less Lambda mode: what the deployer creates (log group,
role under the boundary, function, tags), that names cannot collide, that removal gives function and role
back; how the executor invokes (no client retry, a token bound to the recorded invocation, the broker URL in
the payload); and the Lambda bootstrap run in-process against the real broker endpoint over HTTP, where a
token works only while its invocation runs."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import httpx
import pytest
from conftest import make_zip, manifest
from moto.server import ThreadedMotoServer

from chalicelib.adapters.aws import aws_client
from chalicelib.adapters.lambda_executor import BrokerEndpoint, LambdaExecutor, invoke_client_config
from chalicelib.adapters.lambda_functions import HANDLER, LambdaFunctions, build_function_zip
from chalicelib.adapters.memory import InMemoryArtifactStore
from chalicelib.adapters.system import SystemClock
from chalicelib.config import Settings
from chalicelib.domain.capability_tokens import EXPIRY_MARGIN, CapabilityTokenSigner
from chalicelib.domain.execution import InvocationRequest, Limits
from chalicelib.domain.iam import LAMBDA_TRUST_POLICY, PluginAwsContext, function_name, plugin_policy
from chalicelib.domain.invocations import Invocation
from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models import Installation, PluginVersion
from chalicelib.local.stack import free_port

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = b"s" * 32
AWS = PluginAwsContext("dev", "us-east-1", "123456789012")
TAGS = {"plugyard:stage": "dev", "plugyard:plugin": "notes", "plugyard:version": "1.2.0"}


def version(
    plugin_id: str = "notes", number: str = "1.2.0", scopes: list[str] | None = None
) -> tuple[PluginVersion, bytes]:
    man = manifest(plugin_id, "acme", number, permissions=scopes or [], resources={"memory_mb": 256, "timeout_s": 7.5})
    data = make_zip(man, {"handler.py": "def main(event, ctx):\n    return {'ok': True}\n"})
    v = PluginVersion(
        plugin_id=plugin_id,
        version=number,
        manifest=Manifest.model_validate(man),
        artifact_sha256="a" * 64,
        artifact_key=f"artifacts/sha256/{plugin_id}-{number}.zip",
        size_bytes=len(data),
        state="approved",
        published_at=NOW,
        published_by="key:1",
        signature="sig",
    )
    return v, data


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    httpx.post(f"{url}/moto-api/config", json={"lambda": {"use_docker": False}})
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def aws(moto_url: str) -> Iterator[dict[str, Any]]:
    # One account for the module (a reset costs seconds): each test deploys plugins of its own ids.
    settings = Settings(aws_endpoint_url=moto_url, region="us-east-1")
    yield {name: aws_client(settings, name) for name in ("lambda", "iam", "logs", "sts")} | {"settings": settings}


def functions(
    aws: dict[str, Any], *versions: tuple[PluginVersion, bytes], boundary: str | None = None
) -> LambdaFunctions:
    artifacts = InMemoryArtifactStore()
    for v, data in versions:
        artifacts.put(v.artifact_key, data)
    account = aws["sts"].get_caller_identity()["Account"]
    return LambdaFunctions(
        lambda_client=aws["lambda"],
        iam_client=aws["iam"],
        logs_client=aws["logs"],
        artifacts=artifacts,
        aws=lambda: PluginAwsContext("dev", "us-east-1", account),
        log_retention_days=14,
        permissions_boundary=boundary,
        sleep=lambda s: None,
    )


def _boundary(aws: dict[str, Any]) -> str:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}
    return str(
        aws["iam"].create_policy(PolicyName="plugyard-dev-plugin-boundary", PolicyDocument=json.dumps(doc))["Policy"][
            "Arn"
        ]
    )


def test_deploy_creates_log_group_role_and_function_tagged_and_active(aws: dict[str, Any]) -> None:
    v, data = version(scopes=["storage:read", "events:emit", "http:fetch"])
    boundary = _boundary(aws)
    name = functions(aws, (v, data), boundary=boundary).deploy(v)
    assert name == function_name("dev", "notes", "1.2.0") and name.startswith("plugyard-dev-plg-notes-1-2-0-")
    fn = aws["lambda"].get_function(FunctionName=name)
    cfg = fn["Configuration"]
    assert cfg["State"] == "Active"
    assert cfg["Runtime"] == "python3.11"
    assert cfg["Handler"] == HANDLER == "plugyard_runtime.lambda_handler"
    assert (cfg["MemorySize"], cfg["Timeout"]) == (256, 8)
    assert not cfg.get("Environment", {}).get("Variables")  # the broker URL travels with each invocation
    assert fn["Tags"] == TAGS
    # The log group exists before the function, with a retention and the same tags.
    [group] = aws["logs"].describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert group["logGroupName"] == f"/aws/lambda/{name}" and group["retentionInDays"] == 14
    assert aws["logs"].list_tags_log_group(logGroupName=group["logGroupName"])["tags"] == TAGS
    role = aws["iam"].get_role(RoleName=name)["Role"]
    assert cfg["Role"] == role["Arn"] and role["Path"] == "/plugyard/"
    assert role["AssumeRolePolicyDocument"] == LAMBDA_TRUST_POLICY
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert {t["Key"]: t["Value"] for t in role.get("Tags", [])} == TAGS
    assert aws["iam"].list_role_policies(RoleName=name)["PolicyNames"] == ["plugyard-plugin"]
    doc = aws["iam"].get_role_policy(RoleName=name, PolicyName="plugyard-plugin")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    account = aws["sts"].get_caller_identity()["Account"]
    assert doc == plugin_policy(PluginAwsContext("dev", "us-east-1", account), plugin_id="notes", version="1.2.0")
    assert [a for s in doc["Statement"] for a in s["Action"]] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert aws["iam"].list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []


def test_versions_whose_readable_names_collide_get_two_functions(aws: dict[str, Any]) -> None:
    a, b = version("foo", "1.2.3-4"), version("foo-1", "2.3.4")
    deployer = functions(aws, a, b)
    names = [deployer.deploy(a[0]), deployer.deploy(b[0])]
    assert names[0] != names[1]
    owners = [aws["lambda"].get_function(FunctionName=n)["Tags"]["plugyard:plugin"] for n in names]
    assert owners == ["foo", "foo-1"]


def test_deploy_is_idempotent(aws: dict[str, Any]) -> None:
    v, data = version("idem")
    deployer = functions(aws, (v, data))
    name = deployer.deploy(v)
    assert deployer.deploy(v) == name
    assert [f["FunctionName"] for f in aws["lambda"].list_functions()["Functions"]].count(name) == 1


def test_remove_gives_function_and_role_back_and_keeps_the_logs(aws: dict[str, Any]) -> None:
    v, data = version("gone")
    deployer = functions(aws, (v, data))
    name = deployer.deploy(v)
    deployer.remove("gone", "1.2.0")
    assert name not in [f["FunctionName"] for f in aws["lambda"].list_functions()["Functions"]]
    assert name not in [r["RoleName"] for r in aws["iam"].list_roles(PathPrefix="/plugyard/")["Roles"]]
    assert aws["logs"].describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    deployer.remove("gone", "1.2.0")  # idempotent: a redelivered message changes nothing


def test_a_missing_artifact_is_a_final_failure(aws: dict[str, Any]) -> None:
    from chalicelib.domain.deployments import DeploymentFailedError

    v, _ = version("nozip")
    with pytest.raises(DeploymentFailedError, match="missing"):
        functions(aws).deploy(v)


def test_deployment_package_holds_plugin_and_runtime() -> None:
    _, data = version()
    names = set(zipfile.ZipFile(io.BytesIO(build_function_zip(data))).namelist())
    assert {
        "plugyard.json",
        "handler.py",
        "plugyard_runtime/lambda_bootstrap.py",
        "plugyard_runtime/__init__.py",
    } <= names


# --- invoking ---------------------------------------------------------------------------------------


def test_the_invoke_client_never_retries_and_outwaits_the_longest_plugin(aws: dict[str, Any]) -> None:
    client = aws_client(aws["settings"], "lambda", config=invoke_client_config(60))
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.read_timeout > 60
    # Only this client: the others keep their retries.
    assert aws["lambda"].meta.config.retries["total_max_attempts"] > 1


def test_a_lambda_invoke_is_sent_once_even_when_the_call_fails(moto_url: str) -> None:
    """A read timeout must not make botocore send the Invoke again (that would run the plugin twice)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)  # read nothing, answer nothing: the client times out

    threading.Thread(target=accept, daemon=True).start()
    settings = Settings(aws_endpoint_url=f"http://127.0.0.1:{listener.getsockname()[1]}", region="us-east-1")
    config = invoke_client_config(0).merge(boto3.session.Config(read_timeout=1))
    client = aws_client(settings, "lambda", config=config)
    with pytest.raises(Exception):
        client.invoke(FunctionName="f", Payload=b"{}")
    listener.close()
    assert len(accepted) == 1


def _request(v: PluginVersion, invocation_id: str | None = "inv-1") -> InvocationRequest:
    return InvocationRequest(
        installation_id="inst-1",
        workspace_id="ws-1",
        plugin_id=v.plugin_id,
        version=v.version,
        code_dir=v.artifact_key,
        entrypoint="handler:main",
        event={"x": 1},
        limits=Limits(memory_mb=256, timeout_s=7.5),
        invocation_id=invocation_id,
    )


def test_invoke_passes_the_broker_url_and_a_token_bound_to_the_invocation(aws: dict[str, Any]) -> None:
    v, data = version("echo")
    functions(aws, (v, data)).deploy(v)
    client = aws_client(aws["settings"], "lambda", config=invoke_client_config(60))
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-call.lambda.Invoke", lambda params, **_: sent.append(json.loads(params["body"]))
    )
    ex = LambdaExecutor(
        lambda_client=client,
        tokens=CapabilityTokenSigner(KEY),
        clock=SystemClock(),
        stage="dev",
        broker=BrokerEndpoint("https://api.example.test"),
    )
    before = datetime.now(UTC)
    outcome = ex.invoke(_request(v), lambda name, args: {})
    # moto's docker-less Lambda echoes the payload, which carries no status: recorded as a protocol violation.
    assert outcome.status == "crashed" and outcome.error == {
        "type": "ProtocolViolation",
        "message": "the function answered no status",
    }
    [payload] = sent
    assert payload["broker_url"] == "https://api.example.test/api/broker"
    assert payload["entrypoint"] == "handler:main" and payload["event"] == {"x": 1}
    assert payload["invocation_id"] == "inv-1"
    claims = CapabilityTokenSigner(KEY).verify(payload["capability_token"], now=datetime.now(UTC))
    assert (claims.installation_id, claims.workspace_id, claims.plugin_id, claims.invocation_id) == (
        "inst-1",
        "ws-1",
        "echo",
        "inv-1",
    )
    # Valid for the plugin's timeout plus a small margin, not minutes.
    lifetime = claims.exp - before.timestamp()
    assert 7.5 <= lifetime <= 7.5 + EXPIRY_MARGIN.total_seconds() + 2


def test_the_api_learns_its_broker_url_from_its_requests_and_a_setting_wins() -> None:
    learned = BrokerEndpoint(None)
    with pytest.raises(RuntimeError, match="PLUGYARD_BROKER_URL"):
        learned.url()  # never a plugin without a broker
    learned.learn("abc123.execute-api.us-east-1.amazonaws.com", "api")
    assert learned.url() == "https://abc123.execute-api.us-east-1.amazonaws.com/api/api/broker"
    configured = BrokerEndpoint("https://plugins.example.test/")
    configured.learn("abc123.execute-api.us-east-1.amazonaws.com", "api")
    assert configured.url() == "https://plugins.example.test/api/broker"


def test_the_api_middleware_hands_its_url_to_the_executor() -> None:
    """What API Gateway sends: the request context's domain name and stage give the API its own URL."""
    from chalice.app import Request, Response

    from chalicelib.api.broker_endpoint import learn_broker_url_middleware
    from chalicelib.container import build_services, in_memory_adapters, reset_services

    svc = build_services(Settings(capability_key=KEY.decode()), in_memory_adapters())
    endpoint = BrokerEndpoint(None)
    svc.invocations.executor = LambdaExecutor(
        lambda_client=None, tokens=CapabilityTokenSigner(KEY), clock=SystemClock(), stage="dev", broker=endpoint
    )
    reset_services(svc)
    event = {
        "httpMethod": "GET",
        "path": "/health",
        "headers": {},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "httpMethod": "GET",
            "resourcePath": "/health",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "stage": "api",
        },
    }
    try:
        out = learn_broker_url_middleware(Request(event), lambda request: Response(body="ok"))
    finally:
        reset_services(None)
    assert out.body == "ok"
    assert endpoint.url() == "https://abc123.execute-api.us-east-1.amazonaws.com/api/api/broker"


def test_an_invocation_without_its_recorded_id_is_refused() -> None:
    v, _ = version()
    ex = LambdaExecutor(
        lambda_client=None,
        tokens=CapabilityTokenSigner(KEY),
        clock=SystemClock(),
        stage="dev",
        broker=BrokerEndpoint("https://x"),
    )
    with pytest.raises(ValueError, match="recorded invocation"):
        ex.invoke(_request(v, invocation_id=None), lambda name, args: {})


# --- the bootstrap, in-process, against the broker endpoint over real HTTP ------------------------------


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def broker_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from app import app
    from chalicelib.container import build_services, in_memory_adapters, reset_services
    from chalicelib.local.gateway import GatewayApp

    adapters = in_memory_adapters()
    svc = build_services(Settings(capability_key=KEY.decode()), adapters)
    reset_services(svc)
    v, _ = version(scopes=["storage:read", "storage:write"])
    adapters.versions.items[(v.plugin_id, v.version)] = v.model_copy(update={"deployment": "ready"})  # type: ignore[attr-defined]
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
        yield {
            "url": f"http://127.0.0.1:{server.server_port}/api/broker",
            "signer": svc.invocations.tokens,
            "adapters": adapters,
        }
    finally:
        sys.path.remove(str(tmp_path))
        server.shutdown()
        reset_services(None)


def _running(adapters: Any, invocation_id: str, status: str = "running") -> None:
    adapters.invocations.put(
        Invocation(
            installation_id="inst-1",
            invocation_id=invocation_id,
            workspace_id="ws-1",
            plugin_id="notes",
            version="1.2.0",
            entrypoint="main",
            trigger="api",
            actor="key:1",
            status=status,
            started_at=NOW,
            expires_at=2**31,
        )
    )


def _event(
    signer: CapabilityTokenSigner,
    payload: dict[str, Any],
    *,
    installation_id: str = "inst-1",
    invocation_id: str = "inv-1",
    broker_url: str | None = None,
) -> dict[str, Any]:
    token = signer.issue(
        installation_id=installation_id,
        workspace_id="ws-1",
        plugin_id="notes",
        version="1.2.0",
        invocation_id=invocation_id,
        now=datetime.now(UTC),
        ttl=timedelta(seconds=30),
    )
    event = {"entrypoint": "lambda_plugin:main", "event": payload, "capability_token": token, "granted": []}
    return event | ({"broker_url": broker_url} if broker_url else {})


def test_bootstrap_calls_the_broker_url_it_is_given_with_its_token(broker_api: dict[str, Any]) -> None:
    from plugyard_runtime.lambda_bootstrap import lambda_handler

    _running(broker_api["adapters"], "inv-1")
    out = lambda_handler(_event(broker_api["signer"], {"n": 1}, broker_url=broker_api["url"]), None)
    assert out == {
        "status": "succeeded",
        "result": {"stored": {"n": 1}, "scopes": ["storage:read", "storage:write"]},
        "error": None,
    }
    denied = lambda_handler(_event(broker_api["signer"], {"emit": True}, broker_url=broker_api["url"]), None)
    assert denied["status"] == "permission_denied"
    assert "events:emit" in denied["error"]["message"]


def test_a_token_is_refused_once_its_invocation_ended(broker_api: dict[str, Any]) -> None:
    from plugyard_runtime.lambda_bootstrap import lambda_handler

    signer, url = broker_api["signer"], broker_api["url"]
    _running(broker_api["adapters"], "inv-1")
    replayed = _event(signer, {"n": 1}, broker_url=url)
    assert lambda_handler(replayed, None)["status"] == "succeeded"
    _running(broker_api["adapters"], "inv-1", status="succeeded")  # the invocation is over
    assert lambda_handler(replayed, None)["status"] == "failed"
    direct = httpx.post(
        f"{url}/storage.get",
        json={"args": {"key": "seen"}},
        headers={"Authorization": f"Bearer {replayed['capability_token']}"},
    )
    assert direct.status_code == 401
    assert direct.json()["type"].endswith("/invalid-capability-token")
    assert "running invocation" in direct.json()["detail"]


def test_a_token_of_another_invocation_is_refused(broker_api: dict[str, Any]) -> None:
    from plugyard_runtime.lambda_bootstrap import lambda_handler

    signer, url = broker_api["signer"], broker_api["url"]
    _running(broker_api["adapters"], "inv-1")
    # Signed by the platform but for an invocation never recorded (or recorded for another installation).
    assert lambda_handler(_event(signer, {"n": 1}, invocation_id="inv-2", broker_url=url), None)["status"] == "failed"
    assert (
        lambda_handler(_event(signer, {"n": 1}, installation_id="inst-other", broker_url=url), None)["status"]
        == "failed"
    )
    # The genuine one still works: refusals are about the token, not the installation.
    assert lambda_handler(_event(signer, {"n": 1}, broker_url=url), None)["status"] == "succeeded"


def test_without_a_broker_url_the_bootstrap_fails_clearly(monkeypatch: Any) -> None:
    from plugyard_runtime.lambda_bootstrap import lambda_handler

    monkeypatch.delenv("PLUGYARD_BROKER_URL", raising=False)
    out = lambda_handler({"entrypoint": "x:y", "event": {}, "capability_token": "t"}, None)
    assert out["status"] == "failed" and out["error"]["type"] == "ConfigurationError"
