"""In-memory twins of every repository port, for unit tests; the contract suite keeps them honest."""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from chalicelib.domain.deliveries import Delivery, DeliveryJob, DeliveryStatus
from chalicelib.domain.errors import ConflictError, IdempotencyKeyReusedError
from chalicelib.domain.models import (
    ApiKey,
    AuditRecord,
    EventEnvelope,
    Installation,
    Plugin,
    PluginVersion,
    Publisher,
    Task,
    Webhook,
    Workspace,
)
from chalicelib.domain.pagination import decode_token, encode_token
from chalicelib.domain.triggers import Trigger

__all__ = [
    "InMemoryApiKeyRepository",
    "InMemoryArtifactStore",
    "InMemoryAuditRepository",
    "InMemoryDeliveryQueue",
    "InMemoryDeliveryRepository",
    "InMemoryEventBus",
    "InMemoryGenerationStore",
    "InMemoryHookRunner",
    "InMemoryIdempotencyStore",
    "InMemoryInstallationRepository",
    "InMemoryPermissionRepository",
    "InMemoryPluginEventHandler",
    "InMemoryPluginRepository",
    "InMemoryPublisherRepository",
    "InMemorySecretBox",
    "InMemorySubscriptionRepository",
    "InMemoryTaskRepository",
    "InMemoryTriggerRepository",
    "InMemoryVersionRepository",
    "InMemoryWebhookRepository",
    "InMemoryWorkQueues",
    "InMemoryWorkspaceRepository",
]

T = TypeVar("T")


def _page(
    items: list[T], key: Callable[[T], dict[str, str]], limit: int, token: str | None
) -> tuple[list[T], str | None]:
    """Keyset pagination over items already in order: resume after the token's key."""
    start = decode_token(token)
    if start is not None:
        keys = [key(i) for i in items]
        if start not in keys:
            from chalicelib.domain.errors import InvalidRequestError

            raise InvalidRequestError("next_token does not belong to this listing.")
        items = items[keys.index(start) + 1 :]
    page = items[:limit]
    more = len(items) > limit
    return page, encode_token(key(page[-1])) if more and page else None


class InMemoryWorkspaceRepository:
    def __init__(self) -> None:
        self.items: dict[str, Workspace] = {}

    def get(self, workspace_id: str) -> Workspace | None:
        return self.items.get(workspace_id)

    def put(self, workspace: Workspace) -> None:
        self.items[workspace.workspace_id] = workspace


class InMemoryApiKeyRepository:
    def __init__(self) -> None:
        self.items: dict[str, ApiKey] = {}

    def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.items.get(key_hash)

    def put(self, key: ApiKey) -> None:
        self.items[key.key_hash] = key

    def list_for_workspace(self, workspace_id: str) -> list[ApiKey]:
        return sorted((k for k in self.items.values() if k.workspace_id == workspace_id), key=lambda k: k.key_id)

    def delete(self, key: ApiKey) -> None:
        self.items.pop(key.key_hash, None)


class InMemoryPluginRepository:
    def __init__(self) -> None:
        self.items: dict[str, Plugin] = {}
        self.counts: dict[str, int] = {}

    def get(self, plugin_id: str) -> Plugin | None:
        p = self.items.get(plugin_id)
        return p.model_copy(update={"install_count": self.counts.get(plugin_id, 0)}) if p else None

    def put(self, plugin: Plugin) -> None:
        self.items[plugin.plugin_id] = plugin

    def search(
        self, *, query: str | None, category: str | None, limit: int, token: str | None
    ) -> tuple[list[Plugin], str | None]:
        def match(p: Plugin) -> bool:
            text = " ".join([p.plugin_id, p.name, p.description, p.publisher]).lower()
            return (not query or query in text) and (not category or category in p.categories)

        found = [self.get(pid) for pid in sorted(self.items) if match(self.items[pid])]
        return _page([p for p in found if p], lambda p: {"plugin_id": p.plugin_id}, limit, token)

    def add_installs(self, plugin_id: str, delta: int) -> None:
        self.counts[plugin_id] = self.counts.get(plugin_id, 0) + delta


class InMemoryVersionRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], PluginVersion] = {}

    def get(self, plugin_id: str, version: str) -> PluginVersion | None:
        return self.items.get((plugin_id, version))

    def list_versions(self, plugin_id: str) -> list[PluginVersion]:
        return [v for (pid, _), v in sorted(self.items.items()) if pid == plugin_id]

    def create(self, version: PluginVersion) -> None:
        key = (version.plugin_id, version.version)
        if key in self.items:
            raise ConflictError(f"{version.plugin_id}@{version.version} already exists.")
        self.items[key] = version

    def find_by_digest(self, sha256: str) -> list[PluginVersion]:
        return [v for v in self.items.values() if v.artifact_sha256 == sha256]

    def list_pending(self) -> list[PluginVersion]:
        return [v for v in self.items.values() if v.state == "pending"]

    def update(self, version: PluginVersion) -> None:
        self.items[(version.plugin_id, version.version)] = version


class InMemoryInstallationRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Installation] = {}

    def get(self, workspace_id: str, plugin_id: str) -> Installation | None:
        return self.items.get((workspace_id, plugin_id))

    def get_by_id(self, workspace_id: str, installation_id: str) -> Installation | None:
        for (ws, _), inst in self.items.items():
            if ws == workspace_id and inst.installation_id == installation_id:
                return inst
        return None

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Installation], str | None]:
        items = [i for (ws, _), i in sorted(self.items.items()) if ws == workspace_id]
        return _page(items, lambda i: {"workspace_id": i.workspace_id, "plugin_id": i.plugin_id}, limit, token)

    def create(self, installation: Installation) -> None:
        key = (installation.workspace_id, installation.plugin_id)
        if key in self.items:
            raise ConflictError(f"'{installation.plugin_id}' is already installed in this workspace.")
        self.items[key] = installation

    def put(self, installation: Installation) -> None:
        self.items[(installation.workspace_id, installation.plugin_id)] = installation

    def list_on_version(self, plugin_id: str, version: str) -> builtins.list[Installation]:
        return [i for i in self.items.values() if i.plugin_id == plugin_id and i.version == version]

    def delete(self, installation: Installation) -> None:
        self.items.pop((installation.workspace_id, installation.plugin_id), None)


class InMemoryPermissionRepository:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, dict[str, str]]] = {}

    def grant(self, installation_id: str, scopes: list[str], *, by: str, version: str, at: datetime) -> None:
        grants = self.items.setdefault(installation_id, {})
        for scope in scopes:
            grants[scope] = {"by": by, "version": version, "at": at.isoformat()}

    def list(self, installation_id: str) -> list[str]:
        return sorted(self.items.get(installation_id, {}))

    def revoke_all(self, installation_id: str) -> None:
        self.items.pop(installation_id, None)


class InMemoryWebhookRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Webhook] = {}

    def put(self, webhook: Webhook) -> None:
        self.items[(webhook.workspace_id, webhook.webhook_id)] = webhook

    def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        return self.items.get((workspace_id, webhook_id))

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Webhook], str | None]:
        items = [h for (ws, _), h in sorted(self.items.items()) if ws == workspace_id]
        return _page(items, lambda h: {"workspace_id": h.workspace_id, "webhook_id": h.webhook_id}, limit, token)

    def delete(self, workspace_id: str, webhook_id: str) -> None:
        self.items.pop((workspace_id, webhook_id), None)


class InMemoryAuditRepository:
    def __init__(self) -> None:
        self.items: list[AuditRecord] = []

    def append(self, record: AuditRecord) -> None:
        if any(r.workspace_id == record.workspace_id and r.seq == record.seq for r in self.items):
            raise ConflictError(f"audit seq {record.seq} is taken")
        self.items.append(record)

    def tail(self, workspace_id: str) -> AuditRecord | None:
        return self.latest(workspace_id)

    def latest(self, workspace_id: str) -> AuditRecord | None:
        mine = [r for r in self.items if r.workspace_id == workspace_id]
        return max(mine, key=lambda r: r.seq, default=None)

    def query(
        self,
        workspace_id: str,
        *,
        action: str | None,
        actor: str | None,
        target: str | None,
        limit: int,
        token: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        oldest_first: bool = False,
    ) -> tuple[list[AuditRecord], str | None]:
        found = sorted(
            (
                r
                for r in self.items
                if r.workspace_id == workspace_id
                and (not action or r.action == action)
                and (not actor or r.actor == actor)
                and (not target or r.target == target)
                and (since is None or r.time >= since)
                and (until is None or r.time <= until)
            ),
            key=lambda r: r.seq,
            reverse=not oldest_first,
        )
        return _page(found, lambda r: {"workspace_id": r.workspace_id, "seq": r.seq}, limit, token)


class InMemoryArtifactStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def presign_put(self, key: str, *, expires_s: int) -> tuple[str, dict[str, str]]:
        return f"memory://{key}", {}

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        data = self.objects.get(key)
        if data is not None and len(data) > max_bytes:
            from chalicelib.domain.errors import InvalidArtifactError

            raise InvalidArtifactError(f"The artifact is {len(data)} bytes; the limit is {max_bytes}.")
        return data

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects


class InMemorySecretBox:
    """Reversible but not plaintext, so tests can tell a stored secret from a returned one."""

    def encrypt(self, plaintext: str, *, context: dict[str, str]) -> str:
        return "mem:" + plaintext[::-1] + "|" + ",".join(f"{k}={v}" for k, v in sorted(context.items()))

    def decrypt(self, ciphertext: str, *, context: dict[str, str]) -> str:
        body, _, ctx = ciphertext.removeprefix("mem:").rpartition("|")
        if ctx != ",".join(f"{k}={v}" for k, v in sorted(context.items())):
            raise ValueError("encryption context mismatch")
        return body[::-1]


class InMemoryIdempotencyStore:
    def __init__(self) -> None:
        self._done: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def run(self, key: str, payload: dict[str, Any], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if key in self._done:
                seen, result = self._done[key]
                if seen != payload:
                    raise IdempotencyKeyReusedError("This Idempotency-Key was used with a different request.")
                return result
            result = fn()
            self._done[key] = (payload, result)
            return result


# --- events issue: tasks, bus, subscriptions, queues, triggers, hooks ---------------------------------


class InMemoryTaskRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Task] = {}

    def get(self, workspace_id: str, task_id: str) -> Task | None:
        return self.items.get((workspace_id, task_id))

    def put(self, task: Task) -> None:
        self.items[(task.workspace_id, task.task_id)] = task

    def list(self, workspace_id: str, *, limit: int, token: str | None) -> tuple[list[Task], str | None]:
        items = [t for (ws, _), t in sorted(self.items.items()) if ws == workspace_id]
        return _page(items, lambda t: {"workspace_id": t.workspace_id, "task_id": t.task_id}, limit, token)


class InMemoryEventBus:
    """Keeps what was published; ``listeners`` (e.g. a dispatcher in tests) see each event as it goes out."""

    def __init__(self) -> None:
        self.published: list[EventEnvelope] = []
        self.listeners: list[Callable[[EventEnvelope], None]] = []

    def publish(self, events: list[EventEnvelope]) -> None:
        for event in events:
            self.published.append(event)
            for listener in self.listeners:
                listener(event)


class InMemorySubscriptionRepository:
    def __init__(self) -> None:
        self.rows: dict[str, set[str]] = {}

    def add(self, workspace_id: str, event_types: list[str], target: str) -> None:
        for t in event_types:
            self.rows.setdefault(f"{workspace_id}#{t}", set()).add(target)

    def remove(self, workspace_id: str, event_types: list[str], target: str) -> None:
        for t in event_types:
            self.rows.get(f"{workspace_id}#{t}", set()).discard(target)

    def targets(self, workspace_id: str, event_type: str) -> list[str]:
        return sorted(self.rows.get(f"{workspace_id}#{event_type}", set()))


class InMemoryWorkQueues:
    """Messages by queue purpose; dead letters keep their reason."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.dead: dict[str, list[dict[str, str]]] = {}

    def send(self, purpose: str, bodies: list[dict[str, Any]]) -> None:
        self.sent.setdefault(purpose, []).extend(bodies)

    def dead_letter(self, purpose: str, body: str, *, code: str, reason: str) -> None:
        self.dead.setdefault(purpose, []).append({"body": body, "code": code, "reason": reason})


class InMemoryTriggerRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Trigger] = {}

    def get(self, installation_id: str, name: str) -> Trigger | None:
        return self.items.get((installation_id, name))

    def put(self, trigger: Trigger) -> None:
        self.items[(trigger.installation_id, trigger.name)] = trigger

    def list(self, installation_id: str) -> list[Trigger]:
        return [t for (iid, _), t in sorted(self.items.items()) if iid == installation_id]

    def delete_all(self, installation_id: str) -> None:
        for key in [k for k in self.items if k[0] == installation_id]:
            del self.items[key]


class InMemoryHookRunner:
    """Answers hook calls from ``replies`` (installation id → function of the event); no reply = None."""

    def __init__(self) -> None:
        self.replies: dict[str, Callable[[EventEnvelope], dict[str, Any] | None]] = {}
        self.calls: list[tuple[str, EventEnvelope]] = []

    def call(self, installation: Installation, event: EventEnvelope, *, timeout_s: float) -> dict[str, Any] | None:
        self.calls.append((installation.installation_id, event))
        reply = self.replies.get(installation.installation_id)
        return reply(event) if reply else None


class InMemoryPluginEventHandler:
    """Records the events handed to installations; ``fail`` makes an installation's handler raise."""

    def __init__(self) -> None:
        self.handled: list[tuple[str, EventEnvelope]] = []
        self.fail: set[str] = set()

    def handle(self, installation: Installation, event: EventEnvelope) -> None:
        if installation.installation_id in self.fail:
            raise RuntimeError(f"handler of {installation.installation_id} failed")
        self.handled.append((installation.installation_id, event))


class InMemoryPublisherRepository:
    def __init__(self) -> None:
        self.items: dict[str, Publisher] = {}

    def get(self, publisher_id: str) -> Publisher | None:
        return self.items.get(publisher_id)

    def put(self, publisher: Publisher) -> None:
        self.items[publisher.publisher_id] = publisher


class InMemoryGenerationStore:
    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def get(self, name: str) -> int:
        return self.items.get(name, 0)

    def bump(self, name: str) -> int:
        self.items[name] = self.items.get(name, 0) + 1
        return self.items[name]


class InMemoryDeliveryRepository:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Delivery] = {}
        self._lock = threading.Lock()

    def get(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        d = self.items.get((webhook_id, delivery_id))
        return d.model_copy(deep=True) if d else None

    def create(self, delivery: Delivery) -> bool:
        with self._lock:
            key = (delivery.webhook_id, delivery.delivery_id)
            if key in self.items:
                return False
            delivery.version = 1
            self.items[key] = delivery.model_copy(deep=True)
            return True

    def save(self, delivery: Delivery) -> bool:
        with self._lock:
            key = (delivery.webhook_id, delivery.delivery_id)
            current = self.items.get(key)
            if current is None or current.version != delivery.version:
                return False
            delivery.version += 1
            self.items[key] = delivery.model_copy(deep=True)
            return True

    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None,
        since_id: str | None,
        limit: int,
        token: str | None,
        newest_first: bool = True,
    ) -> tuple[builtins.list[Delivery], str | None]:
        found = sorted(
            (
                d
                for (wid, did), d in self.items.items()
                if wid == webhook_id and (status is None or d.status == status) and (not since_id or did >= since_id)
            ),
            key=lambda d: d.delivery_id,
            reverse=newest_first,
        )
        return _page(found, lambda d: {"webhook_id": d.webhook_id, "delivery_id": d.delivery_id}, limit, token)


class InMemoryDeliveryQueue:
    """Jobs with the delay they were sent with, in order; tests pump them into the deliverer."""

    def __init__(self) -> None:
        self.jobs: list[tuple[DeliveryJob, int]] = []
        self._lock = threading.Lock()

    def send(self, job: DeliveryJob, *, delay_s: int) -> None:
        with self._lock:
            self.jobs.append((job.model_copy(deep=True), delay_s))

    def take_all(self) -> builtins.list[tuple[DeliveryJob, int]]:
        """Every queued job, removed from the queue."""
        with self._lock:
            jobs, self.jobs = self.jobs, []
            return jobs
