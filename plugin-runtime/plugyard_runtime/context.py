"""`PluginContext`: what a handler receives as `ctx`. Every capability goes through a `Transport`."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~5 ms per cold start
if TYPE_CHECKING:
    import logging  # imported lazily at run time: it costs milliseconds on every cold start
    from typing import Any

    from .transport import Transport

__all__ = ["AI", "Events", "Http", "Permissions", "PluginContext", "Storage", "Tasks"]


class Storage:
    """Key-value storage private to this installation."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def get(self, key: str, default: Any = None) -> Any:
        """The value stored under `key`, or `default`."""
        value = self._t.call("storage.get", {"key": key}).get("value")
        return default if value is None else value

    def put(self, key: str, value: Any) -> None:
        """Store a JSON-serializable value under `key`."""
        self._t.call("storage.put", {"key": key, "value": value})

    def delete(self, key: str) -> None:
        """Remove `key` (no error if absent)."""
        self._t.call("storage.delete", {"key": key})

    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with `prefix`."""
        return [str(k) for k in self._t.call("storage.list", {"prefix": prefix}).get("keys", [])]


class Tasks:
    """The host's tasks in this workspace."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def get(self, task_id: str) -> dict[str, Any] | None:
        """One task, or None."""
        task = self._t.call("tasks.get", {"task_id": task_id}).get("task")
        return task if isinstance(task, dict) else None

    def list(self, limit: int = 50, **filters: Any) -> list[dict[str, Any]]:
        """Tasks matching `filters` (e.g. status="open")."""
        tasks = self._t.call("tasks.list", {"filters": filters, "limit": limit}).get("tasks", [])
        return [t for t in tasks if isinstance(t, dict)]

    def update(self, task_id: str, **changes: Any) -> dict[str, Any]:
        """Apply `changes` to a task and return it."""
        task = self._t.call("tasks.update", {"task_id": task_id, "changes": changes}).get("task")
        return task if isinstance(task, dict) else {}


class Events:
    """Publishing events under the plugin's own source."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def emit(self, type: str, data: dict[str, Any] | None = None) -> str | None:
        """Publish an event; returns its id when the host assigns one."""
        event_id = self._t.call("events.emit", {"type": type, "data": data or {}}).get("event_id")
        return None if event_id is None else str(event_id)


class Http:
    """Outbound HTTP, performed by the host (the sandbox has no network)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def fetch(
        self,
        url: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> dict[str, Any]:
        """Perform a request; returns {"status", "headers", "body"}."""
        args = {"url": url, "method": method, "headers": headers or {}, "body": body}
        return self._t.call("http.fetch", args)


class AI:
    """The workspace's AI assistant."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def complete(self, prompt: str, **opts: Any) -> dict[str, Any]:
        """A completion for `prompt`; returns at least {"text"}."""
        return self._t.call("ai.complete", {"prompt": prompt, **opts})


class Permissions:
    """The scopes granted to this installation."""

    def __init__(self, transport: Transport, granted: list[str]) -> None:
        self._t = transport
        self.granted: frozenset[str] = frozenset(granted)

    def has(self, scope: str) -> bool:
        """Whether `scope` was granted."""
        return scope in self.granted

    def refresh(self) -> frozenset[str]:
        """Ask the host for the current grants (they may change between invocations)."""
        scopes = self._t.call("permissions.list", {}).get("scopes", [])
        self.granted = frozenset(str(s) for s in scopes)
        return self.granted

    def __contains__(self, scope: object) -> bool:
        return scope in self.granted

    def __iter__(self) -> Any:
        return iter(sorted(self.granted))


class PluginContext:
    """The `ctx` argument of `handler(event, ctx)`."""

    def __init__(
        self,
        transport: Transport,
        *,
        config: dict[str, Any] | None = None,
        granted: list[str] | None = None,
        installation_id: str = "",
        plugin_id: str = "",
        version: str = "",
        invocation_id: str = "",
    ) -> None:
        self.transport = transport
        self.config: dict[str, Any] = dict(config or {})
        self.installation_id = installation_id
        self.plugin_id = plugin_id
        self.version = version
        self.invocation_id = invocation_id
        self.storage = Storage(transport)
        self.tasks = Tasks(transport)
        self.events = Events(transport)
        self.http = Http(transport)
        self.ai = AI(transport)
        self.permissions = Permissions(transport, list(granted or []))
        self._log: logging.Logger | None = None

    @property
    def log(self) -> logging.Logger:
        """A logger writing to stderr, which the platform captures as the invocation's log."""
        if self._log is None:
            import logging

            logger = logging.getLogger(f"plugin.{self.plugin_id or 'local'}")
            if not logger.handlers:
                handler = logging.StreamHandler(sys.stderr)
                handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
                logger.addHandler(handler)
                logger.setLevel(logging.DEBUG)
                logger.propagate = False
            self._log = logger
        return self._log
