"""`LambdaExecutor`: one AWS Lambda function per plugin version, with an IAM role generated from its permissions.

Deploy (when a version is published, or on the first invocation if that failed): the role
``plugyard-<stage>-plg-<plugin>-<version>`` with the policy of ``domain.iam.plugin_policy``, then the
function of the same name: code = the artifact's files + the ``plugyard_runtime`` package, handler
``plugyard_runtime.lambda_handler``, memory and timeout from the manifest, tagged for the console.

Invoke: a short-lived capability token bound to the installation goes in the payload; the SDK calls the
broker endpoint (``PLUGYARD_BROKER_URL``) with it. The in-process Broker callable is not used here.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.capability_tokens import CapabilityTokenSigner
from chalicelib.domain.execution import Broker, InvocationOutcome, InvocationRequest, InvocationStatus
from chalicelib.domain.iam import LAMBDA_TRUST_POLICY, PluginAwsContext, function_name, plugin_policy
from chalicelib.domain.models import PluginVersion
from chalicelib.ports import ArtifactStore, Clock, VersionRepository

__all__ = ["ArtifactKeyCode", "LambdaExecutor", "build_function_zip"]

log = logging.getLogger(__name__)

RUNTIME = "python3.11"
HANDLER = "plugyard_runtime.lambda_handler"
POLICY_NAME = "plugyard-plugin"
_LAMBDA_MIN_MEMORY_MB = 128
_STATUSES = {"succeeded", "failed", "timeout", "memory_exceeded", "crashed", "permission_denied"}
_MAX_MEMORY = re.compile(r"Max Memory Used:\s*(\d+)\s*MB")
_BILLED = re.compile(r"\tDuration:\s*([\d.]+)\s*ms")


class ArtifactKeyCode:
    """The CodeCache of the Lambda executor: the code lives in the function, so the key names it."""

    def code_dir(self, version: PluginVersion) -> str:
        return version.artifact_key


def _runtime_dir() -> Path:
    import plugyard_runtime

    return Path(plugyard_runtime.__file__).parent


def build_function_zip(artifact: bytes, runtime_dir: Path | None = None) -> bytes:
    """The deployment package: the plugin's files at the root plus ``plugyard_runtime/``."""
    runtime_dir = runtime_dir or _runtime_dir()
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(artifact)) as src,
        zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as out,
    ):
        for info in src.infolist():
            if info.filename.startswith("plugyard_runtime/"):
                continue  # the platform's runtime wins over anything a plugin ships under that name
            out.writestr(info, src.read(info))
        for path in [*sorted(runtime_dir.glob("*.py")), runtime_dir / "py.typed"]:
            if path.is_file():
                info = zipfile.ZipInfo(f"plugyard_runtime/{path.name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o100644 << 16
                out.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


class LambdaExecutor:
    """Runs plugins as Lambda functions (``PLUGYARD_EXECUTOR=lambda``)."""

    def __init__(
        self,
        *,
        lambda_client: Any,
        iam_client: Any,
        artifacts: ArtifactStore,
        versions: VersionRepository,
        tokens: CapabilityTokenSigner,
        clock: Clock,
        aws: Callable[[], PluginAwsContext],
        broker_url: str,
        max_artifact_bytes: int = 20 * 1024 * 1024,
        reserved_concurrency: int | None = None,
        permissions_boundary: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lambda = lambda_client
        self._iam = iam_client
        self._artifacts = artifacts
        self._versions = versions
        self._tokens = tokens
        self._clock = clock
        self._aws = aws
        self._broker_url = broker_url
        self._max_artifact = max_artifact_bytes
        self._reserved = reserved_concurrency
        # The ceiling every plugin role is created under: even a tampered policy cannot exceed it.
        self._boundary = permissions_boundary
        self._sleep = sleep

    # -- deploy ----------------------------------------------------------------------------

    def deploy(self, version: PluginVersion) -> str:
        """Create the version's role and function (idempotent); returns the function name."""
        aws = self._aws()
        m = version.manifest
        name = function_name(aws.stage, version.plugin_id, version.version)
        tags = {"plugyard:stage": aws.stage, "plugyard:plugin": version.plugin_id, "plugyard:version": version.version}
        role_arn = self._ensure_role(
            name, tags, plugin_policy(aws, plugin_id=m.id, version=m.version, scopes=m.permissions)
        )
        artifact = self._artifacts.read(version.artifact_key, max_bytes=self._max_artifact)
        if artifact is None:
            raise RuntimeError(f"artifact {version.artifact_key} is missing")
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": RUNTIME,
            "Role": role_arn,
            "Handler": HANDLER,
            "Code": {"ZipFile": build_function_zip(artifact)},
            "Description": f"Plugyard plugin {version.plugin_id}@{version.version}",
            "MemorySize": max(_LAMBDA_MIN_MEMORY_MB, m.resources.memory_mb),
            "Timeout": max(1, math.ceil(m.resources.timeout_s)),
            "Environment": {"Variables": {"PLUGYARD_BROKER_URL": self._broker_url}},
            "Tags": tags,
            "Publish": True,
        }
        for attempt in range(8):
            try:
                self._lambda.create_function(**kwargs)
                break
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "ResourceConflictException":
                    break  # already deployed: versions are immutable
                # A new role takes a few seconds to become assumable by Lambda.
                if code == "InvalidParameterValueException" and attempt < 7:
                    self._sleep(min(2.0, 0.25 * 2**attempt))
                    continue
                raise
        if self._reserved:
            try:
                self._lambda.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=self._reserved)
            except ClientError:
                log.warning("could not reserve concurrency for %s", name)
        return name

    def _ensure_role(self, name: str, tags: dict[str, str], policy: dict[str, Any]) -> str:
        create: dict[str, Any] = {
            "RoleName": name,
            "Path": "/plugyard/",
            "AssumeRolePolicyDocument": json.dumps(LAMBDA_TRUST_POLICY),
            "Description": "Least-privilege role of one Plugyard plugin version (generated from its permissions)",
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if self._boundary:
            create["PermissionsBoundary"] = self._boundary
        try:
            role = self._iam.create_role(**create)["Role"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
                raise
            role = self._iam.get_role(RoleName=name)["Role"]
        self._iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
        return str(role["Arn"])

    # -- invoke ----------------------------------------------------------------------------

    def invoke(self, request: InvocationRequest, broker: Broker) -> InvocationOutcome:
        """Invoke the version's function synchronously with a fresh capability token."""
        started = time.perf_counter()
        name = function_name(self._aws().stage, request.plugin_id, request.version)
        invocation_id = uuid.uuid4().hex
        token = self._tokens.issue(
            installation_id=request.installation_id,
            workspace_id=request.workspace_id,
            plugin_id=request.plugin_id,
            version=request.version,
            invocation_id=invocation_id,
            now=self._clock.now(),
        )
        payload = {
            "entrypoint": request.entrypoint,
            "event": request.event,
            "config": request.config,
            "granted": request.granted_scopes,
            "capability_token": token,
            "installation_id": request.installation_id,
            "plugin_id": request.plugin_id,
            "version": request.version,
            "invocation_id": invocation_id,
        }
        try:
            response = self._call(name, payload)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            version = self._versions.get(request.plugin_id, request.version)
            if version is None:
                raise
            self.deploy(version)
            response = self._call(name, payload)
        return self._outcome(response, started)

    def _call(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self._lambda.invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps(payload).encode(),
        )
        return out

    def _outcome(self, response: dict[str, Any], started: float) -> InvocationOutcome:
        raw = response["Payload"].read()
        logs = base64.b64decode(response.get("LogResult") or b"").decode(errors="replace")
        peak = _MAX_MEMORY.search(logs)
        billed = _BILLED.search(logs)
        duration_ms = float(billed.group(1)) if billed else (time.perf_counter() - started) * 1000
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status: InvocationStatus
        error: dict[str, Any] | None = None
        result: dict[str, Any] | None = None
        if response.get("FunctionError"):
            message = str((body or {}).get("errorMessage", "")) if isinstance(body, dict) else ""
            if "timed out" in message.lower():
                status, error = "timeout", {"type": "Timeout", "message": message[:500]}
            elif "memory" in message.lower() or "signal: killed" in message.lower():
                status, error = "memory_exceeded", {"type": "MemoryExceeded", "message": message[:500]}
            else:
                status, error = "crashed", {"type": "FunctionError", "message": message[:500]}
        elif isinstance(body, dict) and body.get("status") in _STATUSES:
            status = body["status"]
            result = body.get("result") if isinstance(body.get("result"), dict) else None
            err = body.get("error")
            error = (
                {"type": str(err.get("type", "Error"))[:200], "message": str(err.get("message", ""))[:2000]}
                if isinstance(err, dict)
                else None
            )
        else:
            status, error = "crashed", {"type": "ProtocolViolation", "message": "the function answered no status"}
        return InvocationOutcome(
            status=status,
            result=result if status == "succeeded" else None,
            error=error if status != "succeeded" else None,
            duration_ms=duration_ms,
            cpu_ms=duration_ms,  # Lambda reports no CPU time; billed duration is its closest figure
            peak_memory_mb=float(peak.group(1)) if peak else 0.0,
            log_excerpt=logs,
        )
