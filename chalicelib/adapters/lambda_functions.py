"""`LambdaFunctions`: create and remove the AWS resources of one plugin version.

Deploy, in this order, each step idempotent so a retried deployment picks up where it stopped:

1. the log group ``/aws/lambda/<name>`` with a retention and the version's tags (before the function,
   so Lambda never creates it without a retention, and the role needs no ``logs:CreateLogGroup``);
2. the role ``<name>`` (path ``/plugyard/``) under the permissions boundary, tagged, whose only policy
   is ``domain.iam.plugin_policy`` (its own log streams);
3. the function ``<name>``: the artifact's files + ``plugyard_runtime``, handler
   ``plugyard_runtime.lambda_handler``, memory and timeout from the manifest, tagged, no environment
   (the broker URL travels with each invocation, so a redeploy of the API never strands a plugin);
4. wait until the function's ``State`` is ``Active``.

A version nobody can run any more gives its function and role back (IAM's default quota is 1,000 roles
per account); its log group stays, emptied by its retention, so an operator can still read what it did.
"""

from __future__ import annotations

import io
import json
import logging
import math
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.deployments import DeploymentFailedError
from chalicelib.domain.iam import (
    LAMBDA_TRUST_POLICY,
    PluginAwsContext,
    function_name,
    log_group_name,
    plugin_policy,
    plugin_tags,
)
from chalicelib.domain.models import PluginVersion
from chalicelib.ports import ArtifactStore

__all__ = ["HANDLER", "POLICY_NAME", "RUNTIME", "LambdaFunctions", "build_function_zip"]

log = logging.getLogger(__name__)

RUNTIME = "python3.11"
HANDLER = "plugyard_runtime.lambda_handler"
POLICY_NAME = "plugyard-plugin"
ROLE_PATH = "/plugyard/"
_LAMBDA_MIN_MEMORY_MB = 128
_LAMBDA_MAX_MEMORY_MB = 10240


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


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class LambdaFunctions:
    """The FunctionDeployer of the Lambda executor: one function, role and log group per version."""

    # Deploying takes seconds to minutes (a new role becomes assumable, the function becomes Active):
    # it runs in the deployer worker, never inside an API request.
    synchronous = False

    def __init__(
        self,
        *,
        lambda_client: Any,
        iam_client: Any,
        logs_client: Any,
        artifacts: ArtifactStore,
        aws: Callable[[], PluginAwsContext],
        max_artifact_bytes: int = 20 * 1024 * 1024,
        log_retention_days: int = 30,
        permissions_boundary: str | None = None,
        active_timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lambda = lambda_client
        self._iam = iam_client
        self._logs = logs_client
        self._artifacts = artifacts
        self._aws = aws
        self._max_artifact = max_artifact_bytes
        self._retention = log_retention_days
        # The ceiling every plugin role is created under: even a tampered policy cannot exceed it.
        self._boundary = permissions_boundary
        self._active_timeout = active_timeout_s
        self._sleep = sleep

    def name(self, plugin_id: str, version: str) -> str:
        """The function (and role) name of a version in this stage."""
        return function_name(self._aws().stage, plugin_id, version)

    # -- deploy ----------------------------------------------------------------------------

    def deploy(self, version: PluginVersion) -> str:
        """Create the version's log group, role and function, and wait until it is Active; returns its name.

        DeploymentFailedError when it cannot succeed by retrying (missing artifact, a function that
        ended Failed); any other exception is transient and the deployment is retried.
        """
        aws = self._aws()
        m = version.manifest
        name = function_name(aws.stage, version.plugin_id, version.version)
        tags = plugin_tags(aws.stage, version.plugin_id, version.version)
        self._ensure_log_group(log_group_name(aws.stage, version.plugin_id, version.version), tags)
        role_arn = self._ensure_role(name, tags, plugin_policy(aws, plugin_id=m.id, version=m.version))
        artifact = self._artifacts.read(version.artifact_key, max_bytes=self._max_artifact)
        if artifact is None:
            raise DeploymentFailedError(f"The artifact {version.artifact_key} is missing.")
        memory = min(_LAMBDA_MAX_MEMORY_MB, max(_LAMBDA_MIN_MEMORY_MB, m.resources.memory_mb))
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": RUNTIME,
            "Role": role_arn,
            "Handler": HANDLER,
            "Code": {"ZipFile": build_function_zip(artifact)},
            "Description": f"Plugyard plugin {version.plugin_id}@{version.version}"[:256],
            "MemorySize": memory,
            "Timeout": max(1, math.ceil(m.resources.timeout_s)),
            "Tags": tags,
            "Publish": True,
        }
        for attempt in range(8):
            try:
                self._lambda.create_function(**kwargs)
                break
            except ClientError as exc:
                if _code(exc) == "ResourceConflictException":
                    break  # already created by an earlier attempt: versions are immutable
                # A new role takes a few seconds to become assumable by Lambda.
                if _code(exc) == "InvalidParameterValueException" and attempt < 7:
                    self._sleep(min(2.0, 0.25 * 2**attempt))
                    continue
                raise
        # No reserved concurrency per plugin function: reservations come out of the account's pool (and at
        # least 100 must stay unreserved), so they would cap how many versions can exist. Plugin functions
        # share the unreserved pool; the API and the workers have theirs reserved (infra/README.md).
        self._wait_active(name)
        return name

    def _ensure_log_group(self, group: str, tags: dict[str, str]) -> None:
        try:
            self._logs.create_log_group(logGroupName=group, tags=tags)
        except ClientError as exc:
            if _code(exc) != "ResourceAlreadyExistsException":
                raise
        self._logs.put_retention_policy(logGroupName=group, retentionInDays=self._retention)

    def _ensure_role(self, name: str, tags: dict[str, str], policy: dict[str, Any]) -> str:
        create: dict[str, Any] = {
            "RoleName": name,
            "Path": ROLE_PATH,
            "AssumeRolePolicyDocument": json.dumps(LAMBDA_TRUST_POLICY),
            "Description": "Role of one Plugyard plugin version: its own log streams only",
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if self._boundary:
            create["PermissionsBoundary"] = self._boundary
        try:
            role = self._iam.create_role(**create)["Role"]
        except ClientError as exc:
            if _code(exc) != "EntityAlreadyExists":
                raise
            role = self._iam.get_role(RoleName=name)["Role"]
        self._iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
        return str(role["Arn"])

    def _wait_active(self, name: str) -> None:
        waited = 0.0
        delay = 0.5
        while True:
            cfg = self._lambda.get_function_configuration(FunctionName=name)
            state = cfg.get("State", "Active")
            if state == "Active" and cfg.get("LastUpdateStatus", "Successful") != "InProgress":
                return
            if state == "Failed":
                raise DeploymentFailedError(
                    f"The function ended Failed: {cfg.get('StateReasonCode', '')} {cfg.get('StateReason', '')}".strip()
                )
            if waited >= self._active_timeout:
                raise TimeoutError(f"{name} is still {state} after {waited:.0f} s")
            self._sleep(delay)
            waited += delay
            delay = min(5.0, delay * 2)

    # -- remove ----------------------------------------------------------------------------

    def remove(self, plugin_id: str, version: str) -> None:
        """Delete the version's function and role (idempotent); the log group expires by its retention."""
        name = self.name(plugin_id, version)
        try:
            self._lambda.delete_function(FunctionName=name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
        try:
            for policy in self._iam.list_role_policies(RoleName=name)["PolicyNames"]:
                self._iam.delete_role_policy(RoleName=name, PolicyName=policy)
            self._iam.delete_role(RoleName=name)
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
        log.info("removed plugin function", extra={"function": name})
