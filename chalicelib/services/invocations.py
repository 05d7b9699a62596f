"""Running plugins: the synchronous invoke API, the record of every invocation, and the token broker path."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from chalicelib.domain.capability_tokens import CapabilityTokenSigner, InvalidCapabilityTokenError
from chalicelib.domain.errors import (
    ConflictError,
    InstallationNotFoundError,
    PlugyardError,
    ValidationFailedError,
    VersionNotFoundError,
)
from chalicelib.domain.execution import InvocationOutcome, InvocationRequest, Limits
from chalicelib.domain.invocations import (
    Invocation,
    InvocationPage,
    InvocationResult,
    InvokeRequest,
    Trigger,
    choose_entrypoint,
    excerpt,
)
from chalicelib.domain.models import Caller, Installation, PluginVersion
from chalicelib.domain.permissions import Action
from chalicelib.ports import (
    Clock,
    CodeCache,
    IdGenerator,
    InstallationRepository,
    InvocationRepository,
    Metrics,
    PermissionRepository,
    PluginExecutor,
    PluginStatsRepository,
    SecretBox,
    VersionRepository,
)
from chalicelib.services.audit import AuditService
from chalicelib.services.broker import BrokerService
from chalicelib.services.limits import InvocationLimiter
from chalicelib.services.secret_config import decrypt_secret_config, redact_outcome

__all__ = ["ExecutionCaps", "InvocationService"]

log = logging.getLogger(__name__)


class ExecutionCaps:
    """Platform caps applied on top of a manifest's resources (docs/plugin-developer-guide.md, Limits)."""

    def __init__(
        self,
        *,
        max_memory_mb: int = 1024,
        interactive_timeout_s: float = 30,
        event_timeout_s: float = 60,
        max_result_bytes: int = 256 * 1024,
        retention_days: int = 30,
    ) -> None:
        self.max_memory_mb = max_memory_mb
        self.interactive_timeout_s = interactive_timeout_s
        self.event_timeout_s = event_timeout_s
        self.max_result_bytes = max_result_bytes
        self.retention_days = retention_days


class InvocationService:
    """Invoke an installation's entry point, record it, audit it; list the records."""

    def __init__(
        self,
        installs: InstallationRepository,
        versions: VersionRepository,
        permissions: PermissionRepository,
        invocations: InvocationRepository,
        code: CodeCache,
        executor: PluginExecutor,
        broker: BrokerService,
        limiter: InvocationLimiter,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        secrets: SecretBox,
        *,
        caps: ExecutionCaps | None = None,
        tokens: CapabilityTokenSigner | None = None,
        metrics: Metrics | None = None,
        stats: PluginStatsRepository,
        require_ready: Callable[[PluginVersion], None],
    ) -> None:
        # Publisher analytics: each recorded invocation adds to its version's counters and duration histogram.
        self._stats = stats
        # Refuses (VersionNotReadyError) a version whose code is not deployed yet: DeploymentService.
        self._require_ready = require_ready
        self._metrics = metrics
        self._installs = installs
        self._versions = versions
        self._permissions = permissions
        self._invocations = invocations
        self._code = code
        self.executor = executor
        self._broker = broker
        self.limiter = limiter
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._secrets = secrets
        self.caps = caps or ExecutionCaps()
        self.tokens = tokens

    # -- the API ---------------------------------------------------------------------------

    def invoke(self, caller: Caller, installation_id: str, req: InvokeRequest) -> InvocationResult:
        """Run an entry point now and answer its outcome (a plugin failure is a status, not an error)."""
        self._audit.authorize(caller, Action.INVOKE, "plugin.invoke", installation_id)
        installation = self._installs.get_by_id(caller.workspace_id, installation_id)
        if installation is None:
            raise InstallationNotFoundError(installation_id)
        return self.run(installation, entrypoint=req.entrypoint, payload=req.payload, trigger="api", actor=caller.actor)

    def list(
        self, caller: Caller, installation_id: str, *, limit: int = 50, token: str | None = None
    ) -> InvocationPage:
        """The installation's recorded invocations, newest first (finished ones: a running one has no outcome)."""
        self._audit.authorize(caller, Action.READ_INSTALLS)
        if self._installs.get_by_id(caller.workspace_id, installation_id) is None:
            raise InstallationNotFoundError(installation_id)
        items, next_token = self._invocations.list(installation_id, limit=limit, token=token)
        return InvocationPage(items=[i for i in items if i.status != "running"], next_token=next_token)

    # -- for the API, event dispatch and hooks ---------------------------------------------

    def run(
        self,
        installation: Installation,
        *,
        entrypoint: str | None,
        payload: dict[str, Any],
        trigger: Trigger,
        actor: str,
        timeout_cap_s: float | None = None,
    ) -> InvocationResult:
        """Invoke one installation (already authorized) and record the invocation.

        The plugin's ``resources.timeout_s`` applies, capped by the platform's cap for the trigger and by
        ``timeout_cap_s`` (a synchronous hook's budget).

        Raises ConflictError (disabled), ValidationFailedError (unknown entry point) or
        TooManyRequestsError (limits) before anything runs; afterwards every outcome is a recorded status.
        """
        target = installation.installation_id
        try:
            if installation.state != "enabled":
                raise ConflictError(
                    f"Installation '{target}' is {installation.state}; enable it to invoke it.",
                    state=installation.state,
                )
            version = self._versions.get(installation.plugin_id, installation.version)
            if version is None:
                raise VersionNotFoundError(installation.plugin_id, installation.version)
            self._require_ready(version)
            chosen = choose_entrypoint(version.manifest.entrypoints, entrypoint)
            if chosen is None:
                raise ValidationFailedError(
                    f"The plugin has no entry point '{entrypoint}'.",
                    entrypoints=sorted(version.manifest.entrypoints),
                )
        except PlugyardError as exc:
            self._audit.record(installation.workspace_id, actor, "plugin.invoke", target, "failed", reason=exc.code)
            raise
        name, target_fn = chosen
        with self.limiter.admit(installation.installation_id, installation.plugin_id):
            invocation_id = self._ids.new_id()
            started_at = self._clock.now()
            # Recorded as running before it runs: the broker serves a capability token only while the
            # invocation it is bound to is running, so a token replayed later is refused.
            running = Invocation(
                installation_id=installation.installation_id,
                invocation_id=invocation_id,
                workspace_id=installation.workspace_id,
                plugin_id=installation.plugin_id,
                version=installation.version,
                entrypoint=name,
                trigger=trigger,
                actor=actor,
                status="running",
                started_at=started_at,
                expires_at=int((started_at + timedelta(days=self.caps.retention_days)).timestamp()),
            )
            self._invocations.put(running)
            granted = self._permissions.list(installation.installation_id)
            limits = self._limits(version, trigger, timeout_cap_s)
            outcome = self._execute(installation, version, target_fn, payload, granted, limits, invocation_id)
        outcome = self._cap_result(outcome)
        record = running.model_copy(
            update={
                "status": outcome.status,
                "error": outcome.error,
                "duration_ms": round(outcome.duration_ms, 3),
                "cpu_ms": round(outcome.cpu_ms, 3),
                "peak_memory_mb": round(outcome.peak_memory_mb, 3),
                "cold_start": outcome.cold_start,
                "log_excerpt": excerpt(outcome.log_excerpt),
            }
        )
        self._invocations.put(record)
        if not installation.development:  # a development upload is no published version's figure
            self._stats.add(
                record.plugin_id,
                record.version,
                invocations=1,
                errors=int(record.status != "succeeded"),
                duration_ms=record.duration_ms,
            )
        self._measure(record)
        self._audit.record(
            installation.workspace_id,
            actor,
            "plugin.invoke",
            target,
            "success" if outcome.status == "succeeded" else "failed",
            invocation_id=invocation_id,
            status=outcome.status,
            plugin_id=installation.plugin_id,
            version=installation.version,
            entrypoint=name,
            trigger=trigger,
        )
        return InvocationResult(
            invocation_id=invocation_id,
            status=outcome.status,
            result=outcome.result if outcome.status == "succeeded" else None,
            error=outcome.error,
            duration_ms=record.duration_ms,
            cpu_ms=record.cpu_ms,
            peak_memory_mb=record.peak_memory_mb,
        )

    def _limits(self, version: PluginVersion, trigger: Trigger, timeout_cap_s: float | None) -> Limits:
        res = version.manifest.resources
        cap = self.caps.interactive_timeout_s if trigger == "api" else self.caps.event_timeout_s
        timeout_s = min(res.timeout_s, cap, timeout_cap_s if timeout_cap_s is not None else cap)
        return Limits(
            memory_mb=min(res.memory_mb, self.caps.max_memory_mb),
            timeout_s=timeout_s,
            cpu_s=max(1, math.ceil(timeout_s)),
        )

    def prewarm(self, installation: Installation, version: PluginVersion) -> bool:
        """Start the worker the next API invocation of the default entry point needs, if the executor keeps
        warm workers (the sandbox); True when one was started. Nothing runs and nothing is recorded."""
        start = getattr(self.executor, "prewarm", None)
        chosen = choose_entrypoint(version.manifest.entrypoints, None)
        if not callable(start) or chosen is None or installation.state != "enabled":
            return False
        request = InvocationRequest(
            installation_id=installation.installation_id,
            workspace_id=installation.workspace_id,
            plugin_id=installation.plugin_id,
            version=installation.version,
            code_dir=self._code.code_dir(version),
            entrypoint=chosen[1],
            event={},
            config={},
            granted_scopes=[],
            limits=self._limits(version, "api", None),
            invocation_id="prewarm",
        )
        return bool(start(request))

    def _measure(self, record: Invocation) -> None:
        if self._metrics is None:
            return
        self._metrics.add("Invocations")
        if record.status != "succeeded":
            self._metrics.add("InvocationErrors")
        self._metrics.add("InvocationDurationMs", record.duration_ms, "Milliseconds")
        self._metrics.add("InvocationPeakMemoryMb", record.peak_memory_mb, "Megabytes")

    def _execute(
        self,
        installation: Installation,
        version: Any,
        entrypoint: str,
        payload: dict[str, Any],
        granted: Sequence[str],
        limits: Limits,
        invocation_id: str,
    ) -> InvocationOutcome:
        try:
            code_dir = self._code.code_dir(version)
        except PlugyardError as exc:
            return InvocationOutcome(status="crashed", error={"type": "CodeUnavailable", "message": exc.detail})
        try:
            # Decrypted for this invocation only; never stored in clear, never logged.
            secrets = decrypt_secret_config(self._secrets, installation)
        except Exception as exc:
            log.exception("could not decrypt the secret config of installation %s", installation.installation_id)
            return InvocationOutcome(
                status="crashed",
                error={"type": "SecretConfigUnavailable", "message": f"decrypting failed: {type(exc).__name__}"},
            )
        request = InvocationRequest(
            installation_id=installation.installation_id,
            workspace_id=installation.workspace_id,
            plugin_id=installation.plugin_id,
            version=installation.version,
            code_dir=code_dir,
            entrypoint=entrypoint,
            event=payload,
            config={**installation.config, **secrets},
            granted_scopes=list(granted),
            limits=limits,
            invocation_id=invocation_id,
        )
        broker = self._broker.for_installation(
            installation, version.manifest, list(granted), invocation_id=invocation_id
        )
        try:
            outcome = self.executor.invoke(request, broker)
        except Exception as exc:
            # An executor must turn plugin failures into outcomes; reaching here is a host fault.
            log.exception("executor failed for installation %s", installation.installation_id)
            return InvocationOutcome(
                status="crashed",
                error={"type": "ExecutorError", "message": f"the executor failed: {type(exc).__name__}"},
            )
        # Whatever the plugin echoes of its secrets is redacted before anything records or answers it.
        return redact_outcome(outcome, secrets)

    def _cap_result(self, outcome: InvocationOutcome) -> InvocationOutcome:
        if outcome.result is None:
            return outcome
        size = len(json.dumps(outcome.result, default=str).encode())
        if size <= self.caps.max_result_bytes:
            return outcome
        return outcome.model_copy(
            update={
                "status": "failed",
                "result": None,
                "error": {
                    "type": "ResultTooLarge",
                    "message": f"the result is {size} bytes; the limit is {self.caps.max_result_bytes}",
                },
            }
        )

    # -- the broker endpoint (plugins on Lambda) -------------------------------------------

    def serve_capability(self, token: str | None, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Serve one capability call authenticated by a capability token (CapabilityDenied if refused)."""
        if self.tokens is None:
            raise InvalidCapabilityTokenError("This platform issues no capability tokens.")
        claims = self.tokens.verify(token, now=self._clock.now())
        # A token is good only for the invocation it was issued to, and only while that one runs.
        invocation = self._invocations.get(claims.installation_id, claims.invocation_id)
        if (
            invocation is None
            or invocation.status != "running"
            or invocation.workspace_id != claims.workspace_id
            or invocation.plugin_id != claims.plugin_id
            or invocation.version != claims.version
        ):
            raise InvalidCapabilityTokenError("The capability token is not valid for a running invocation.")
        installation = self._installs.get_by_id(claims.workspace_id, claims.installation_id)
        if (
            installation is None
            or installation.plugin_id != claims.plugin_id
            or installation.version != claims.version
            or installation.state != "enabled"
        ):
            raise InvalidCapabilityTokenError("The capability token is not valid for an enabled installation.")
        version = self._versions.get(installation.plugin_id, installation.version)
        if version is None:
            raise InvalidCapabilityTokenError("The capability token is not valid for an enabled installation.")
        granted = self._permissions.list(installation.installation_id)
        broker = self._broker.for_installation(
            installation, version.manifest, granted, invocation_id=claims.invocation_id
        )
        return broker(name, args)
