"""The capability broker: every call a plugin makes through ``ctx`` is checked and served here.

One ``InstallationBroker`` per invocation (or per broker-endpoint request) is bound to one installation,
its granted scopes and its manifest. Nothing the plugin sends can name another installation: storage
partitions, event sources and task workspaces come from the binding, never from the arguments.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from chalicelib.domain.errors import PlugyardError, TooManyRequestsError, ValidationFailedError
from chalicelib.domain.events import is_known_event_type
from chalicelib.domain.execution import CapabilityDenied
from chalicelib.domain.iam import plugin_data_partition, plugin_event_source
from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models import EventEnvelope, Installation
from chalicelib.domain.netguard import Resolver, UnsafeUrlError, check_public_url, system_resolver
from chalicelib.ports import AiProvider, Clock, EventBus, HttpFetcher, IdGenerator, PluginDataRepository, TaskRepository
from chalicelib.services.audit import AuditService

__all__ = ["CAPABILITY_SCOPES", "BrokerLimits", "BrokerService", "CapabilityFailedError", "InstallationBroker"]

log = logging.getLogger(__name__)

# The scope each capability needs (None: always allowed). Same table as plugyard_runtime.protocol.
CAPABILITY_SCOPES: dict[str, str | None] = {
    "storage.get": "storage:read",
    "storage.list": "storage:read",
    "storage.put": "storage:write",
    "storage.delete": "storage:write",
    "tasks.get": "tasks:read",
    "tasks.list": "tasks:read",
    "tasks.update": "tasks:write",
    "events.emit": "events:emit",
    "http.fetch": "http:fetch",
    "ai.complete": "ai:complete",
    "permissions.list": None,
}

_KEY = re.compile(r"^[\w.:/@-]{1,256}$")
_TASK_FIELDS = frozenset({"title", "data", "annotations"})
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})


class CapabilityFailedError(ValidationFailedError):
    """A capability call the plugin got wrong (bad arguments, over a cap) or the host could not serve."""

    code, title = "capability-failed", "The capability call failed"


@dataclass(frozen=True)
class BrokerLimits:
    """Caps on what one invocation may do through the broker."""

    max_calls: int = 1000
    max_key_chars: int = 256
    max_value_bytes: int = 64 * 1024
    max_list_keys: int = 1000
    max_event_bytes: int = 64 * 1024
    max_http_body_bytes: int = 256 * 1024
    max_prompt_chars: int = 32 * 1024
    max_ai_tokens: int = 4096
    max_audited_denials: int = 20


def _json_size(value: Any) -> int:
    try:
        return len(json.dumps(value, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:
        raise CapabilityFailedError("The value is not JSON-serializable.") from exc


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed:
        p = pattern.lower().rstrip(".")
        if p.startswith("*.") and host.endswith(p[1:]) and host != p[2:]:
            return True
        if host == p:
            return True
    return False


class InstallationBroker:
    """The Broker callable of one installation: ``broker(name, args) -> result``."""

    def __init__(
        self,
        service: BrokerService,
        installation: Installation,
        manifest: Manifest,
        granted: list[str],
        *,
        invocation_id: str,
    ) -> None:
        self._svc = service
        self.installation = installation
        self._manifest = manifest
        self.granted = frozenset(granted)
        self._invocation_id = invocation_id
        self.calls = 0
        self.denials: list[str] = []

    @property
    def _partition(self) -> str:
        return plugin_data_partition(self.installation.plugin_id, self.installation.installation_id)

    def __call__(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        scope = CAPABILITY_SCOPES.get(name, "unknown")
        if scope == "unknown":
            self._deny(name, None, f"There is no capability '{name[:80]}'.")
        if scope is not None and scope not in self.granted:
            self._deny(name, scope, f"{name} needs the '{scope}' permission, which this installation was not granted.")
        self.calls += 1
        if self.calls > self._svc.limits.max_calls:
            raise TooManyRequestsError(
                f"An invocation may make at most {self._svc.limits.max_calls} capability calls.", retry_after_s=1
            )
        handler = getattr(self, "_" + name.replace(".", "_"))
        try:
            result: dict[str, Any] = handler(args if isinstance(args, dict) else {})
        except (CapabilityDenied, PlugyardError):
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise CapabilityFailedError(f"Bad arguments for {name}: {type(exc).__name__} {exc}.") from exc
        except Exception as exc:
            # Never hand a plugin the internals of a host failure (table names, endpoints, stack traces).
            log.exception("capability %s failed for installation %s", name, self.installation.installation_id)
            raise CapabilityFailedError(f"The host could not complete {name}; try again later.") from exc
        return result

    # -- denial ----------------------------------------------------------------------------

    def _deny(self, name: str, scope: str | None, message: str) -> NoReturn:
        self.denials.append(name)
        if len(self.denials) <= self._svc.limits.max_audited_denials:
            self._svc.audit.record(
                self.installation.workspace_id,
                f"plugin:{self.installation.plugin_id}",
                "plugin.capability",
                self.installation.installation_id,
                "denied",
                capability=name[:80],
                scope=scope,
                reason=message,
                invocation_id=self._invocation_id,
            )
        raise CapabilityDenied(message)

    # -- storage ---------------------------------------------------------------------------

    def _key(self, args: dict[str, Any], field: str = "key") -> str:
        key = args.get(field)
        if not isinstance(key, str) or not _KEY.match(key):
            raise CapabilityFailedError(
                f"A storage key must be 1–{self._svc.limits.max_key_chars} characters of letters, digits and "
                "_ . : / @ -."
            )
        return key

    def _storage_get(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"value": self._svc.data.get(self._partition, self._key(args))}

    def _storage_put(self, args: dict[str, Any]) -> dict[str, Any]:
        key = self._key(args)
        value = args.get("value")
        size = _json_size(value)
        if size > self._svc.limits.max_value_bytes:
            raise CapabilityFailedError(
                f"A stored value may be at most {self._svc.limits.max_value_bytes} bytes of JSON; this one is {size}."
            )
        self._svc.data.put(self._partition, key, value)
        return {}

    def _storage_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        self._svc.data.delete(self._partition, self._key(args))
        return {}

    def _storage_list(self, args: dict[str, Any]) -> dict[str, Any]:
        prefix = args.get("prefix") or ""
        if not isinstance(prefix, str) or len(prefix) > self._svc.limits.max_key_chars:
            raise CapabilityFailedError("prefix must be a string of at most 256 characters.")
        return {"keys": self._svc.data.list_keys(self._partition, prefix=prefix, limit=self._svc.limits.max_list_keys)}

    # -- tasks -----------------------------------------------------------------------------

    def _task_repo(self) -> TaskRepository:
        if self._svc.tasks is None:
            raise CapabilityFailedError("This host has no tasks.")
        return self._svc.tasks

    def _tasks_get(self, args: dict[str, Any]) -> dict[str, Any]:
        task = self._task_repo().get(self.installation.workspace_id, str(args["task_id"]))
        return {"task": task.model_dump(mode="json") if task else None}

    def _tasks_list(self, args: dict[str, Any]) -> dict[str, Any]:
        limit = max(1, min(int(args.get("limit") or 50), 100))
        filters = args.get("filters") or {}
        if not isinstance(filters, dict):
            raise CapabilityFailedError("filters must be an object.")
        items, _ = self._task_repo().list(self.installation.workspace_id, limit=100, token=None)
        found = [t.model_dump(mode="json") for t in items]
        found = [t for t in found if all(t.get(k) == v for k, v in filters.items())]
        return {"tasks": found[:limit]}

    def _tasks_update(self, args: dict[str, Any]) -> dict[str, Any]:
        repo = self._task_repo()
        changes = args.get("changes") or {}
        if not isinstance(changes, dict) or not changes:
            raise CapabilityFailedError("changes must be a non-empty object.")
        bad = sorted(set(changes) - _TASK_FIELDS)
        if bad:
            raise CapabilityFailedError(f"A plugin may change only {sorted(_TASK_FIELDS)} of a task, not {bad}.")
        if _json_size(changes) > self._svc.limits.max_value_bytes:
            raise CapabilityFailedError("The changes are too large.")
        task = repo.get(self.installation.workspace_id, str(args["task_id"]))
        if task is None:
            raise CapabilityFailedError(f"No task '{str(args['task_id'])[:80]}' in this workspace.")
        updated = task.model_validate({**task.model_dump(), **changes, "updated_at": self._svc.clock.now()})
        repo.put(updated)
        return {"task": updated.model_dump(mode="json")}

    # -- events ----------------------------------------------------------------------------

    def _events_emit(self, args: dict[str, Any]) -> dict[str, Any]:
        event_type = args.get("type")
        own = f"plugin.{self.installation.plugin_id}."
        if not isinstance(event_type, str) or not event_type.startswith(own):
            self._deny(
                "events.emit",
                "events:emit",
                f"A plugin may only emit events of its own type namespace '{own}*', not '{str(event_type)[:120]}'.",
            )
        assert isinstance(event_type, str)
        if not is_known_event_type(event_type):
            raise CapabilityFailedError(f"'{event_type[:120]}' is not a valid event type ('{own}<name>').")
        data = args.get("data") or {}
        if not isinstance(data, dict):
            raise CapabilityFailedError("Event data must be an object.")
        if _json_size(data) > self._svc.limits.max_event_bytes:
            raise CapabilityFailedError(f"Event data may be at most {self._svc.limits.max_event_bytes} bytes.")
        if self._svc.bus is None:
            raise CapabilityFailedError("This host has no event bus configured.")
        envelope = EventEnvelope(
            id=self._svc.ids.new_id(),
            source=plugin_event_source(self.installation.plugin_id),
            type=event_type,
            workspace_id=self.installation.workspace_id,
            time=self._svc.clock.now(),
            data=data,
        )
        self._svc.bus.publish([envelope])
        return {"event_id": envelope.id}

    # -- http ------------------------------------------------------------------------------

    def _http_fetch(self, args: dict[str, Any]) -> dict[str, Any]:
        url = str(args.get("url") or "")
        host = urlsplit(url).hostname or ""
        allowed = self._manifest.http.allowed_hosts
        if not host or not _host_allowed(host, allowed):
            self._deny(
                "http.fetch",
                "http:fetch",
                f"'{host[:120]}' is not among the hosts this plugin's manifest allows "
                f"({', '.join(allowed) or 'none'}).",
            )
        method = str(args.get("method") or "GET").upper()
        if method not in _HTTP_METHODS:
            raise CapabilityFailedError(f"HTTP method {method[:10]} is not allowed.")
        body = args.get("body")
        if body is not None and (not isinstance(body, str) or len(body) > self._svc.limits.max_http_body_bytes):
            raise CapabilityFailedError("The request body must be a string of at most 256 KiB.")
        headers = args.get("headers") or {}
        if not isinstance(headers, dict):
            raise CapabilityFailedError("headers must be an object.")
        try:
            addrs = check_public_url(url, allow_private=self._svc.allow_private, resolve=self._svc.resolve)
        except UnsafeUrlError as exc:
            self._deny("http.fetch", "http:fetch", exc.detail)
        if self._svc.http is None:
            raise CapabilityFailedError("Outbound HTTP is not available on this host.")
        return self._svc.http.fetch(
            url=url,
            pinned_ip=addrs[0],
            method=method,
            headers={str(k): str(v) for k, v in headers.items()},
            body=body,
        )

    # -- ai --------------------------------------------------------------------------------

    def _ai_complete(self, args: dict[str, Any]) -> dict[str, Any]:
        prompt = args.get("prompt")
        if not isinstance(prompt, str) or not prompt or len(prompt) > self._svc.limits.max_prompt_chars:
            raise CapabilityFailedError(f"prompt must be 1–{self._svc.limits.max_prompt_chars} characters.")
        max_tokens = int(args.get("max_tokens") or 512)
        if not 1 <= max_tokens <= self._svc.limits.max_ai_tokens:
            raise CapabilityFailedError(f"max_tokens must be 1–{self._svc.limits.max_ai_tokens}.")
        system = args.get("system")
        if system is not None and not isinstance(system, str):
            raise CapabilityFailedError("system must be a string.")
        if self._svc.ai is None:
            raise CapabilityFailedError("AI completion is not configured on this platform.")
        return self._svc.ai.complete(prompt, max_tokens=max_tokens, system=system)

    # -- permissions -----------------------------------------------------------------------

    def _permissions_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"scopes": sorted(self.granted)}


class BrokerService:
    """Builds the Broker of one installation; holds the ports every capability needs."""

    def __init__(
        self,
        data: PluginDataRepository,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        *,
        tasks: TaskRepository | None = None,
        bus: EventBus | None = None,
        http: HttpFetcher | None = None,
        ai: AiProvider | None = None,
        resolve: Resolver = system_resolver,
        allow_private: bool = False,
        limits: BrokerLimits | None = None,
    ) -> None:
        self.data = data
        self.audit = audit
        self.clock = clock
        self.ids = ids
        self.tasks = tasks
        self.bus = bus
        self.http = http
        self.ai = ai
        self.resolve = resolve
        self.allow_private = allow_private
        self.limits = limits or BrokerLimits()

    def for_installation(
        self, installation: Installation, manifest: Manifest, granted: list[str], *, invocation_id: str
    ) -> InstallationBroker:
        """The broker of one installation for one invocation."""
        return InstallationBroker(self, installation, manifest, granted, invocation_id=invocation_id)
