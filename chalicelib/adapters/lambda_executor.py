"""`LambdaExecutor`: runs a plugin invocation as a synchronous call of its version's Lambda function.

The function, its role and its log group are created ahead of time by the deployer
(``adapters/lambda_functions.py``, driven by the deploy queue); an invocation never deploys.

Each invocation carries a capability token bound to the recorded invocation (its id, the installation,
an expiry of the plugin's timeout plus a margin) and the broker's URL: the SDK calls the broker endpoint
with both, so no function depends on an environment variable that a redeploy of the API could change.
The in-process Broker callable is not used here.

The Lambda client must not retry an invoke (a retried ``Invoke`` runs the plugin twice) and must wait
longer than the longest plugin timeout: ``invoke_client_config`` is that client's configuration.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from datetime import timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.adapters.lambda_functions import HANDLER, build_function_zip
from chalicelib.domain.capability_tokens import EXPIRY_MARGIN, CapabilityTokenSigner
from chalicelib.domain.execution import Broker, InvocationOutcome, InvocationRequest, InvocationStatus
from chalicelib.domain.iam import function_name
from chalicelib.domain.models import PluginVersion
from chalicelib.ports import Clock

__all__ = [
    "HANDLER",
    "ArtifactKeyCode",
    "BrokerEndpoint",
    "LambdaExecutor",
    "build_function_zip",
    "invoke_client_config",
]

log = logging.getLogger(__name__)

_STATUSES = {"succeeded", "failed", "timeout", "memory_exceeded", "crashed", "permission_denied"}
_MAX_MEMORY = re.compile(r"Max Memory Used:\s*(\d+)\s*MB")
_BILLED = re.compile(r"\tDuration:\s*([\d.]+)\s*ms")
# Beyond the plugin's own timeout: Lambda's cold start and the response's way back.
_READ_TIMEOUT_MARGIN_S = 30


def invoke_client_config(max_plugin_timeout_s: float) -> Config:
    """The Lambda client of the invoker: no retries at all, and a read timeout past any plugin's timeout."""
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        read_timeout=int(max_plugin_timeout_s) + _READ_TIMEOUT_MARGIN_S,
        connect_timeout=5,
        tcp_keepalive=True,
    )


class BrokerEndpoint:
    """Where plugins on Lambda reach the broker: ``<base>/api/broker``.

    The invoker is told the API's URL by its environment (the stack refers to the REST API). The API
    function cannot be (its own URL would make the template refer to itself), so it learns its base URL
    from the requests it serves (API Gateway's ``domainName`` and ``stage``): by the time it runs a plugin
    it is serving a request. With neither, an invocation fails loudly rather than hand a plugin no broker.
    """

    def __init__(self, base_url: str | None) -> None:
        self._base = base_url.rstrip("/") if base_url else None
        self._learned: str | None = None

    def learn(self, domain_name: str | None, stage: str | None) -> None:
        """Remember the API's own base URL from a request's context (a no-op when configured)."""
        if self._base is None and domain_name and stage:
            self._learned = f"https://{domain_name}/{stage}"

    def url(self) -> str:
        base = self._base or self._learned
        if not base:
            raise RuntimeError("the broker's URL is unknown: set PLUGYARD_BROKER_URL")
        return f"{base}/api/broker"


class ArtifactKeyCode:
    """The CodeCache of the Lambda executor: the code lives in the function, so the key names it."""

    def code_dir(self, version: PluginVersion) -> str:
        return version.artifact_key


class LambdaExecutor:
    """Runs plugins as Lambda functions (``PLUGYARD_EXECUTOR=lambda``)."""

    def __init__(
        self,
        *,
        lambda_client: Any,
        tokens: CapabilityTokenSigner,
        clock: Clock,
        stage: str,
        broker: BrokerEndpoint,
    ) -> None:
        self._lambda = lambda_client
        self._tokens = tokens
        self._clock = clock
        self._stage = stage
        self.broker = broker

    def invoke(self, request: InvocationRequest, broker: Broker) -> InvocationOutcome:
        """Invoke the version's function synchronously with a token bound to this invocation."""
        if not request.invocation_id:
            raise ValueError("a Lambda invocation needs the id of its recorded invocation")
        started = time.perf_counter()
        name = function_name(self._stage, request.plugin_id, request.version)
        token = self._tokens.issue(
            installation_id=request.installation_id,
            workspace_id=request.workspace_id,
            plugin_id=request.plugin_id,
            version=request.version,
            invocation_id=request.invocation_id,
            now=self._clock.now(),
            ttl=timedelta(seconds=request.limits.timeout_s) + EXPIRY_MARGIN,
        )
        payload = {
            "entrypoint": request.entrypoint,
            "event": request.event,
            "config": request.config,
            "granted": request.granted_scopes,
            "capability_token": token,
            "broker_url": self.broker.url(),
            "installation_id": request.installation_id,
            "plugin_id": request.plugin_id,
            "version": request.version,
            "invocation_id": request.invocation_id,
        }
        try:
            response = self._call(name, payload)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                # Only a deployed (ready) version is invoked; its function missing is a host fault.
                return InvocationOutcome(
                    status="crashed",
                    error={"type": "FunctionMissing", "message": f"the function of {request.version} is missing"},
                )
            if code in ("TooManyRequestsException", "ResourceNotReadyException"):
                # The plugin did not run: an event is retried (plugin_events), an API caller sees the status.
                return InvocationOutcome(
                    status="throttled", error={"type": "Throttled", "message": f"Lambda refused the call: {code}"}
                )
            raise
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
