"""Test kit for plugin authors: run a handler with pytest or unittest, no platform needed.

Install it with ``pip install ./plugin-runtime`` from the repository's root (standard library only; works
offline). Then:

from plugyard_runtime.testing import FakeContext, make_event
ctx = FakeContext(config={"greeting": "hi"}, granted=["storage:write", "events:emit"], plugin_id="greeter")
assert handler({"name": "Ada"}, ctx) == {...}
assert ctx.emitted == [("plugin.greeter.sent", {"to": "Ada"})]

# Or as an installation of the manifest next to the test: every scope it requests granted, its id and its
# allowed hosts, as the platform would install it.
ctx = FakeContext.for_manifest("plugyard.json", config={"greeting": "hi"})
handler(make_event("task.completed", {"task_id": "t1", "title": "ship it"}), ctx)

The fakes refuse what the host refuses (``plugyard_runtime.rules``, the same rules the host's broker
applies): scopes not granted, task fields a plugin may not change, events outside ``plugin.<id>.*``,
hosts the manifest does not declare, malformed keys and oversized values.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import CapabilityError, PermissionDenied
from .context import PluginContext
from .protocol import CAPABILITY_SCOPES
from .rules import RuleViolation, check_call
from .transport import Transport

__all__ = ["FakeContext", "FakeTransport", "make_event"]

Responder = Callable[[dict[str, Any]], dict[str, Any]]


class FakeTransport(Transport):
    """In-memory broker: storage and tasks in dicts, events recorded, scopes enforced like the host."""

    def __init__(
        self,
        *,
        granted: list[str] | None = None,
        storage: dict[str, Any] | None = None,
        tasks: dict[str, dict[str, Any]] | None = None,
        http: Responder | None = None,
        ai: Responder | None = None,
        enforce_scopes: bool = True,
        plugin_id: str = "test-plugin",
        allowed_hosts: list[str] | None = None,
    ) -> None:
        self.granted = set(granted or [])
        self.plugin_id = plugin_id
        self.allowed_hosts = list(allowed_hosts or [])
        self.storage: dict[str, Any] = dict(storage or {})
        self.tasks: dict[str, dict[str, Any]] = copy.deepcopy(tasks or {})
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.http = http or (lambda args: {"status": 200, "headers": {}, "body": ""})
        self.ai = ai or (lambda args: {"text": ""})
        self.enforce_scopes = enforce_scopes

    def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Serve a capability from memory."""
        if name not in CAPABILITY_SCOPES:
            # The type and words of the host's reply to a name it does not serve.
            raise CapabilityError("UnknownCapability", f"no capability {name[:80]!r}")
        everything = {s for s in CAPABILITY_SCOPES.values() if s is not None}
        try:
            check_call(
                name,
                args,
                granted=self.granted if self.enforce_scopes else everything,
                plugin_id=self.plugin_id,
                allowed_hosts=self.allowed_hosts,
            )
        except RuleViolation as exc:
            if exc.denied:
                raise PermissionDenied(exc.message) from None
            # The type the host's broker reports for a refused call.
            raise CapabilityError("CapabilityFailedError", exc.message) from None
        # Round-trip through JSON semantics: the real broker never shares objects with the plugin.
        args = copy.deepcopy(args)
        self.calls.append((name, args))
        return self._serve(name, args)

    def _serve(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if name == "storage.get":
            return {"value": copy.deepcopy(self.storage.get(args["key"]))}
        if name == "storage.put":
            self.storage[args["key"]] = args["value"]
            return {}
        if name == "storage.delete":
            self.storage.pop(args["key"], None)
            return {}
        if name == "storage.list":
            return {"keys": sorted(k for k in self.storage if k.startswith(args.get("prefix", "")))}
        if name == "tasks.get":
            return {"task": copy.deepcopy(self.tasks.get(args["task_id"]))}
        if name == "tasks.list":
            filters = args.get("filters") or {}
            found = [t for t in self.tasks.values() if all(t.get(k) == v for k, v in filters.items())]
            return {"tasks": copy.deepcopy(found[: int(args.get("limit", 50))])}
        if name == "tasks.update":
            task = self.tasks.get(args["task_id"])
            if task is None:
                # The broker's words and error type for the same call.
                raise CapabilityError(
                    "CapabilityFailedError", f"No task '{str(args['task_id'])[:80]}' in this workspace."
                )
            task.update(args.get("changes") or {})
            return {"task": copy.deepcopy(task)}
        if name == "events.emit":
            self.emitted.append((args["type"], args.get("data") or {}))
            return {"event_id": f"evt-{len(self.emitted)}"}
        if name == "http.fetch":
            return self.http(args)
        if name == "ai.complete":
            return self.ai(args)
        return {"scopes": sorted(self.granted)}  # permissions.list


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname} {record.getMessage()}")


class FakeContext(PluginContext):
    """A PluginContext over a FakeTransport; inspect `.storage_data`, `.emitted`, `.logs`, `.calls`."""

    def __init__(
        self,
        *,
        config: dict[str, Any] | None = None,
        granted: list[str] | None = None,
        storage: dict[str, Any] | None = None,
        tasks: dict[str, dict[str, Any]] | None = None,
        http: Responder | None = None,
        ai: Responder | None = None,
        plugin_id: str = "test-plugin",
        allowed_hosts: list[str] | None = None,
    ) -> None:
        """``plugin_id`` and ``allowed_hosts`` are the manifest's ``id`` and ``http.allowed_hosts``."""
        self.fake = FakeTransport(
            granted=granted,
            storage=storage,
            tasks=tasks,
            http=http,
            ai=ai,
            plugin_id=plugin_id,
            allowed_hosts=allowed_hosts,
        )
        super().__init__(self.fake, config=config, granted=granted, plugin_id=plugin_id)
        self.logs: list[str] = []
        logger = logging.getLogger(f"plugyard.test.{id(self)}")
        logger.handlers = [_ListHandler(self.logs)]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        self._log = logger

    @classmethod
    def for_manifest(
        cls,
        manifest: str | os.PathLike[str] | dict[str, Any],
        *,
        config: dict[str, Any] | None = None,
        granted: list[str] | None = None,
        **fakes: Any,
    ) -> FakeContext:
        """A context as the platform installs the manifest (a ``plugyard.json`` path or its parsed content).

        Installing requires granting every scope the manifest requests, so that is the default ``granted``;
        ``plugin_id`` and ``allowed_hosts`` come from the manifest. ``config`` is what the admin set: like the
        host, the kit does not fill in the ``default`` values of ``config_schema`` (the handler must). ``fakes``
        are the other constructor arguments (storage, tasks, http, ai).
        """
        man = manifest if isinstance(manifest, dict) else json.loads(Path(manifest).read_text())
        return cls(
            config=config,
            granted=list(man.get("permissions") or []) if granted is None else granted,
            plugin_id=str(man["id"]),
            allowed_hosts=list((man.get("http") or {}).get("allowed_hosts") or []),
            **fakes,
        )

    @property
    def emitted(self) -> list[tuple[str, dict[str, Any]]]:
        """Events emitted so far, as (type, data)."""
        return self.fake.emitted

    @property
    def storage_data(self) -> dict[str, Any]:
        """The installation's storage after the handler ran."""
        return self.fake.storage

    @property
    def task_data(self) -> dict[str, dict[str, Any]]:
        """The tasks after the handler ran."""
        return self.fake.tasks

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every capability call that passed the scope check, in order."""
        return self.fake.calls


def make_event(
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    workspace_id: str = "test-workspace",
    source: str = "plugyard.host",
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event envelope shaped as the host delivers it to a handler (id, source, type, workspace_id, time, data).

    Trigger calls (``plugin.<id>.trigger.<name>``) come from the source ``plugyard.trigger`` with
    ``data = {"installation_id", "trigger", "payload"}``.
    """
    now = time.time()
    return {
        "id": event_id or uuid.uuid4().hex[:26].upper(),
        "source": source,
        "type": event_type,
        "workspace_id": workspace_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z",
        "data": copy.deepcopy(data or {}),
    }
