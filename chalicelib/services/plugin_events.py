"""Events and hooks reach plugins through the execution engine: which entry point, and what counts as failure.

Entry point for an event type ``a.b.c`` (first that the manifest declares):
``on_<c>``, ``on_<a>_<b>_<c>`` (dots and dashes as ``_``), ``events``, then the default (``main``, else the first).
Trigger events ``plugin.<id>.trigger.<name>`` try ``on_trigger_<name>`` and ``on_trigger`` first.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from chalicelib.domain.errors import EngineNotWiredError, HookFailedError
from chalicelib.domain.events import parse_trigger_event_type
from chalicelib.domain.models import EventEnvelope, Installation
from chalicelib.ports import VersionRepository

__all__ = [
    "EngineNotWiredError",
    "HookFailedError",
    "InvocationEventHandler",
    "InvocationHookRunner",
    "UnwiredHookRunner",
    "UnwiredPluginEventHandler",
    "event_entrypoint",
]

log = logging.getLogger(__name__)

# Host faults: the plugin never really ran, so the event is retried (and dead-lettered if it persists).
_RETRY_STATUSES = frozenset({"sandbox_unavailable", "throttled"})


class _Runner(Protocol):
    """What the execution engine's InvocationService offers (``run``)."""

    def run(
        self,
        installation: Installation,
        *,
        entrypoint: str | None,
        payload: dict[str, Any],
        trigger: Any,
        actor: str,
        timeout_cap_s: float | None = None,
    ) -> Any: ...


def _snake(text: str) -> str:
    return text.replace(".", "_").replace("-", "_")


def event_entrypoint(entrypoints: dict[str, str], event_type: str) -> str | None:
    """The entry point name an event goes to; None = the plugin's default entry point."""
    candidates: list[str] = []
    trigger = parse_trigger_event_type(event_type)
    if trigger is not None:
        candidates += [f"on_trigger_{_snake(trigger[1])}", "on_trigger"]
    candidates += [f"on_{_snake(event_type.rsplit('.', 1)[-1])}", f"on_{_snake(event_type)}", "events"]
    return next((c for c in candidates if c in entrypoints), None)


class InvocationEventHandler:
    """PluginEventHandler on top of the execution engine: one recorded invocation per event."""

    def __init__(self, runner: _Runner, versions: VersionRepository) -> None:
        self._runner = runner
        self._versions = versions

    def handle(self, installation: Installation, event: EventEnvelope) -> None:
        version = self._versions.get(installation.plugin_id, installation.version)
        entry = event_entrypoint(version.manifest.entrypoints, event.type) if version else None
        result = self._runner.run(
            installation,
            entrypoint=entry,
            payload=event.model_dump(mode="json"),
            trigger="event",
            actor="system:invoker",
        )
        status = str(getattr(result, "status", ""))
        if status in _RETRY_STATUSES:
            raise RuntimeError(f"plugin not run ({status}); retrying")
        # Any other outcome (including a plugin error or timeout) is recorded as an Invocation and final:
        # retrying a plugin's own failure would only repeat its side effects.


class InvocationHookRunner:
    """HookRunner on top of the execution engine; a non-succeeded run raises HookFailedError."""

    def __init__(self, runner: _Runner, versions: VersionRepository) -> None:
        self._runner = runner
        self._versions = versions

    def call(self, installation: Installation, event: EventEnvelope, *, timeout_s: float) -> dict[str, Any] | None:
        version = self._versions.get(installation.plugin_id, installation.version)
        entry = event_entrypoint(version.manifest.entrypoints, event.type) if version else None
        # The plugin's own timeout_s applies, capped by what is left of the hook budget.
        result = self._runner.run(
            installation,
            entrypoint=entry,
            payload=event.model_dump(mode="json"),
            trigger="hook",
            actor="system:hooks",
            timeout_cap_s=timeout_s,
        )
        status = str(getattr(result, "status", ""))
        if status != "succeeded":
            raise HookFailedError(status)
        out = getattr(result, "result", None)
        return out if isinstance(out, dict) else None


class UnwiredPluginEventHandler:
    """Used where no execution engine is wired: every event fails, so the queue keeps it (then dead-letters it)."""

    def handle(self, installation: Installation, event: EventEnvelope) -> None:
        log.error(
            "no plugin executor wired; the event stays on the queue",
            extra={"installation_id": installation.installation_id, "event_id": event.id, "event_type": event.type},
        )
        raise EngineNotWiredError(f"no plugin executor is wired; event {event.id} was not run")


class UnwiredHookRunner:
    """Used where no execution engine is wired: every hook call fails, reported as the hook's ``error``."""

    def call(self, installation: Installation, event: EventEnvelope, *, timeout_s: float) -> dict[str, Any] | None:
        raise EngineNotWiredError(f"no plugin executor is wired; hook of {installation.installation_id} not run")
