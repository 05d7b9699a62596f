"""What running a plugin once means: the request, its resource limits, its outcome, and the broker callback.

Pure data (pydantic v2); the executors in `chalicelib/adapters/` (sandbox, Lambda) do the I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from plugyard_runtime.protocol import CAPABILITIES
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.errors import CapabilityDenied

__all__ = [
    "CAPABILITY_NAMES",
    "Broker",
    "CapabilityDenied",
    "InvocationOutcome",
    "InvocationRequest",
    "InvocationStatus",
    "Limits",
]

MIB = 1024 * 1024

InvocationStatus = Literal[
    "succeeded",
    "failed",
    "timeout",
    "memory_exceeded",
    "crashed",
    "permission_denied",
    "sandbox_unavailable",
    "throttled",  # Lambda refused the call (concurrency): the plugin did not run
]

# The one capability table is plugyard_runtime.protocol's; this is its set of names.
CAPABILITY_NAMES: frozenset[str] = CAPABILITIES


# broker(capability_name, args) -> result; raises CapabilityDenied, anything else becomes an error frame.
Broker = Callable[[str, dict[str, Any]], dict[str, Any]]


class Limits(BaseModel):
    """Resources one plugin instance may use (from the manifest, capped by the platform)."""

    model_config = ConfigDict(frozen=True)

    memory_mb: int = Field(gt=0)
    timeout_s: float = Field(gt=0)
    cpu_s: int | None = Field(default=None, gt=0)
    max_log_bytes: int = Field(default=64 * 1024, ge=1024)
    tmpfs_mb: int = Field(default=16, ge=1)
    max_open_files: int = Field(default=64, ge=16)
    max_processes: int = Field(default=32, ge=1)
    max_file_bytes: int = Field(default=8 * MIB, ge=0)


class InvocationRequest(BaseModel):
    """One call of a plugin entrypoint for one installation."""

    model_config = ConfigDict(frozen=True)

    installation_id: str = Field(min_length=1)
    workspace_id: str = Field(min_length=1)
    plugin_id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    code_dir: str = Field(min_length=1)
    entrypoint: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    event: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    granted_scopes: list[str] = Field(default_factory=list)
    limits: Limits
    # The recorded invocation this runs as; the Lambda executor binds the capability token to it.
    invocation_id: str | None = None


class InvocationOutcome(BaseModel):
    """What happened, as recorded in the Invocations table."""

    model_config = ConfigDict(frozen=True)

    status: InvocationStatus
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    cpu_ms: float = 0.0
    peak_memory_mb: float = 0.0
    log_excerpt: str = ""
    cold_start: bool = False
