"""The capability broker: every call a plugin makes through ``ctx`` is checked and served here.

One ``InstallationBroker`` per invocation (or per broker-endpoint request) is bound to one installation,
its granted scopes and its manifest. Nothing the plugin sends can name another installation: storage
partitions, event sources and task workspaces come from the binding, never from the arguments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NoReturn

from plugyard_runtime.protocol import CAPABILITY_SCOPES
from plugyard_runtime.rules import CallLimits, RuleViolation, check_call

from chalicelib.domain.errors import (
    CapabilityFailedError,
    HostUnresolvableError,
    NetworkError,
    PlugyardError,
    TaskStateError,
    TooManyRequestsError,
    UnsafeUrlError,
)
from chalicelib.domain.events import SOURCE_HOST
from chalicelib.domain.execution import CapabilityDenied
from chalicelib.domain.iam import plugin_data_partition, plugin_event_source
from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models import EventEnvelope, Installation
from chalicelib.domain.netguard import Resolver, check_public_url, system_resolver
from chalicelib.domain.outbox import TaskChange
from chalicelib.ports import (
    AiProvider,
    Clock,
    EventBus,
    HttpFetcher,
    IdGenerator,
    PluginDataRepository,
    TaskRepository,
    TaskWriter,
)
from chalicelib.services.audit import AuditService

__all__ = ["CAPABILITY_SCOPES", "BrokerLimits", "BrokerService", "CapabilityFailedError", "InstallationBroker"]

log = logging.getLogger(__name__)

# The capability table and the argument rules live in plugyard_runtime (protocol, rules): the sandbox,
# the Lambda bootstrap, the test kit and this broker all read the same ones.


@dataclass(frozen=True)
class BrokerLimits(CallLimits):
    """Caps on what one invocation may do through the broker (the per-call caps come from CallLimits)."""

    max_calls: int = 1000
    max_list_keys: int = 1000
    max_audited_denials: int = 20


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
        try:
            check_call(
                name,
                args,
                granted=self.granted,
                plugin_id=self.installation.plugin_id,
                allowed_hosts=self._manifest.http.allowed_hosts,
                limits=self._svc.limits,
            )
        except RuleViolation as exc:
            if exc.denied:
                self._deny(name, exc.scope or CAPABILITY_SCOPES.get(name), exc.message)
            raise CapabilityFailedError(exc.message) from None
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

    @staticmethod
    def _key(args: dict[str, Any]) -> str:
        return str(args["key"])  # its shape was checked by check_call

    def _storage_get(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"value": self._svc.data.get(self._partition, self._key(args))}

    def _storage_put(self, args: dict[str, Any]) -> dict[str, Any]:
        self._svc.data.put(self._partition, self._key(args), args.get("value"))
        return {}

    def _storage_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        self._svc.data.delete(self._partition, self._key(args))
        return {}

    def _storage_list(self, args: dict[str, Any]) -> dict[str, Any]:
        prefix = str(args.get("prefix") or "")
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
        items, _ = self._task_repo().list(self.installation.workspace_id, limit=100, token=None)
        found = [t.model_dump(mode="json") for t in items]
        found = [t for t in found if all(t.get(k) == v for k, v in filters.items())]
        return {"tasks": found[:limit]}

    def _tasks_update(self, args: dict[str, Any]) -> dict[str, Any]:
        repo = self._task_repo()
        if self._svc.task_writer is None:
            raise CapabilityFailedError("This host has no tasks.")
        changes = args["changes"]  # fields and size checked by check_call
        task = repo.get(self.installation.workspace_id, str(args["task_id"]))
        if task is None:
            raise CapabilityFailedError(f"No task '{str(args['task_id'])[:80]}' in this workspace.")
        updated = task.model_validate({**task.model_dump(), **changes, "updated_at": self._svc.clock.now()})
        changed = updated.model_dump(exclude={"updated_at"}) != task.model_dump(exclude={"updated_at"})
        # Written only if the task's status is still the one read (a task completed meanwhile is not put back to
        # running by a plugin's late write), with its task.updated event in the same transaction.
        events = [self._task_updated(updated.model_dump(mode="json"))] if changed else []
        try:
            self._svc.task_writer.commit(TaskChange(updated, task.status, None, events))
        except TaskStateError as exc:
            raise CapabilityFailedError("The task changed while the plugin updated it; read it again.") from exc
        return {"task": updated.model_dump(mode="json")}

    def _task_updated(self, task: dict[str, Any]) -> EventEnvelope:
        """``task.updated`` after a plugin changed a task, so live clients and webhooks see what it wrote."""
        data = {k: task[k] for k in ("task_id", "title", "status", "annotations")}
        return EventEnvelope(
            id=self._svc.ids.new_id(),
            source=SOURCE_HOST,
            type="task.updated",
            workspace_id=self.installation.workspace_id,
            time=self._svc.clock.now(),
            data={**data, "updated_by": self.installation.plugin_id},
        )

    # -- events ----------------------------------------------------------------------------

    def _events_emit(self, args: dict[str, Any]) -> dict[str, Any]:
        event_type = str(args["type"])  # its namespace and shape were checked by check_call
        data = args.get("data") or {}
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
        url = str(args.get("url") or "")  # host, method, body and headers were checked by check_call
        method = str(args.get("method") or "GET").upper()
        body = args.get("body")
        headers = args.get("headers") or {}
        try:
            addrs = check_public_url(url, allow_private=self._svc.allow_private, resolve=self._svc.resolve)
        except HostUnresolvableError as exc:
            raise NetworkError(exc.detail, url=url[:200]) from exc
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
        prompt = str(args["prompt"])  # prompt, max_tokens and system were checked by check_call
        max_tokens = int(args.get("max_tokens") or 512)
        system = args.get("system")
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
        task_writer: TaskWriter | None = None,
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
        self.task_writer = task_writer
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
