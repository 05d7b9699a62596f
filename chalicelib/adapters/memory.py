"""In-memory twins of every repository port, for unit tests; the contract suite keeps them honest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from chalicelib.domain.errors import ConflictError, IdempotencyKeyReusedError
from chalicelib.domain.models import ApiKey, AuditRecord, Installation, Plugin, PluginVersion, Webhook, Workspace
from chalicelib.domain.pagination import decode_token, encode_token

__all__ = [
    "InMemoryApiKeyRepository",
    "InMemoryArtifactStore",
    "InMemoryAuditRepository",
    "InMemoryIdempotencyStore",
    "InMemoryInstallationRepository",
    "InMemoryPermissionRepository",
    "InMemoryPluginRepository",
    "InMemorySecretBox",
    "InMemoryVersionRepository",
    "InMemoryWebhookRepository",
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
        self.items.append(record)

    def query(
        self,
        workspace_id: str,
        *,
        action: str | None,
        actor: str | None,
        target: str | None,
        limit: int,
        token: str | None,
    ) -> tuple[list[AuditRecord], str | None]:
        found = sorted(
            (
                r
                for r in self.items
                if r.workspace_id == workspace_id
                and (not action or r.action == action)
                and (not actor or r.actor == actor)
                and (not target or r.target == target)
            ),
            key=lambda r: r.seq,
            reverse=True,
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
