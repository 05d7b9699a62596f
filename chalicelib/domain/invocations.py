"""Invocations as recorded and shown: one row per plugin run, whatever triggered it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.execution import InvocationStatus

__all__ = [
    "Invocation",
    "InvocationPage",
    "InvocationResult",
    "InvokeRequest",
    "Trigger",
    "choose_entrypoint",
]

Trigger = Literal["api", "event", "hook"]

# What one Invocations row may keep of a plugin's log (the whole log is capped earlier by Limits).
LOG_EXCERPT_CHARS = 4096


class InvokeRequest(BaseModel):
    """``POST /api/installations/{id}/invoke``: which entry point, with what payload."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    entrypoint: str | None = Field(
        None, max_length=63, description="Entry point name from the manifest; default 'main' or the first one."
    )
    payload: dict[str, Any] = Field(default_factory=dict, description="The event the handler receives.")


class InvocationResult(BaseModel):
    """What a synchronous invoke answers: a plugin failure is a status here, not an HTTP error."""

    invocation_id: str
    status: InvocationStatus
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    duration_ms: float
    cpu_ms: float
    peak_memory_mb: float


class Invocation(BaseModel):
    """One recorded run of a plugin (Invocations table, expires after the retention period)."""

    installation_id: str
    invocation_id: str
    workspace_id: str
    plugin_id: str
    version: str
    entrypoint: str
    trigger: Trigger
    actor: str
    status: InvocationStatus | Literal["running"] = Field(description="running until the plugin returns")
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    cpu_ms: float = 0.0
    peak_memory_mb: float = 0.0
    cold_start: bool = False
    log_excerpt: str = Field("", description=f"Head and tail of the plugin's output, at most {LOG_EXCERPT_CHARS} chars")
    started_at: datetime
    expires_at: int = Field(description="Unix time after which DynamoDB's TTL removes the record")


class InvocationPage(BaseModel):
    """One page of an installation's invocations, newest first."""

    items: list[Invocation]
    next_token: str | None = None


def excerpt(log: str, limit: int = LOG_EXCERPT_CHARS) -> str:
    """Keep the head and the tail of a log within ``limit`` characters."""
    if len(log) <= limit:
        return log
    head = limit * 3 // 4
    tail = limit - head - 40
    return f"{log[:head]}\n[... {len(log) - head - tail} chars cut ...]\n{log[-tail:]}"


def choose_entrypoint(entrypoints: dict[str, str], requested: str | None) -> tuple[str, str] | None:
    """(name, 'module:function') for the requested entry point, or the default ('main', else the first)."""
    if requested is not None:
        target = entrypoints.get(requested)
        return (requested, target) if target else None
    if "main" in entrypoints:
        return "main", entrypoints["main"]
    name = next(iter(entrypoints), None)
    return (name, entrypoints[name]) if name is not None else None
