"""Workspaces and API keys: keys are stored hashed and shown once."""

from __future__ import annotations

import hashlib
import secrets
import time

from chalicelib.domain.errors import ApiKeyNotFoundError, ConflictError, ForbiddenError, UnauthenticatedError
from chalicelib.domain.models import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyView,
    Caller,
    CreateApiKeyRequest,
    Publisher,
    Workspace,
)
from chalicelib.domain.permissions import Action, Role
from chalicelib.ports import ApiKeyRepository, Clock, IdGenerator, PublisherRepository, WorkspaceRepository
from chalicelib.services.audit import AuditService

__all__ = ["AuthService", "hash_key"]

KEY_PREFIX = "pyk_"
MAX_CACHED_KEYS = 10_000


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


class AuthService:
    """Authenticates bearer keys and manages a workspace's keys."""

    def __init__(
        self,
        workspaces: WorkspaceRepository,
        keys: ApiKeyRepository,
        publishers: PublisherRepository,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        *,
        cache_ttl_s: float = 0,
    ) -> None:
        # Authenticated keys are remembered briefly (two reads saved per request); a revocation takes
        # effect at once in the process that revokes and within cache_ttl_s everywhere else.
        self._cache: dict[str, tuple[Caller, float]] = {}
        self._cache_ttl_s = cache_ttl_s
        self._workspaces = workspaces
        self._keys = keys
        self._publishers = publishers
        self._audit = audit
        self._clock = clock
        self._ids = ids

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller behind an ``Authorization: Bearer`` header, or UnauthenticatedError."""
        if not authorization:
            raise UnauthenticatedError("Send 'Authorization: Bearer <api key>'.")
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise UnauthenticatedError("The Authorization header must be 'Bearer <api key>'.")
        digest = hash_key(key.strip())
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        stored = self._keys.get_by_hash(digest)
        if stored is None or stored.revoked:
            raise UnauthenticatedError("The API key is unknown or revoked.")
        # One read: a key names its workspace and role, and workspaces are never deleted; the workspace's publisher
        # is read where it matters (publishing), not on every request.
        caller = Caller(workspace_id=stored.workspace_id, role=stored.role, key_id=stored.key_id)
        if self._cache_ttl_s > 0:
            if len(self._cache) >= MAX_CACHED_KEYS:
                self._cache.clear()
            self._cache[digest] = (caller, now + self._cache_ttl_s)
        return caller

    def create_workspace(self, workspace_id: str, name: str, publisher_id: str | None = None) -> Workspace:
        """Create a workspace (operator action: seed and admin CLI); with ``publisher_id``, the publisher profile
        is made at once and owned by it, so no other workspace can claim that id before its first key."""
        if self._workspaces.get(workspace_id) is not None:
            raise ConflictError(f"Workspace '{workspace_id}' exists.")
        now = self._clock.now()
        if publisher_id is not None:  # PublisherTakenError when another workspace has it
            self._publishers.create(
                Publisher(publisher_id=publisher_id, name=publisher_id, owner_workspace_id=workspace_id, created_at=now)
            )
        ws = Workspace(workspace_id=workspace_id, name=name, publisher_id=publisher_id, created_at=now)
        self._workspaces.put(ws)
        self._audit.record(workspace_id, "operator", "workspace.create", workspace_id)
        return ws

    def issue_key(
        self, workspace_id: str, role: Role, name: str, *, created_by: str, key: str | None = None
    ) -> ApiKeyCreated:
        """Create a key; ``key`` fixes its value (the dev stack's PLUGYARD_DEV_API_KEY)."""
        key = key or KEY_PREFIX + secrets.token_urlsafe(32)
        stored = ApiKey(
            key_id=self._ids.new_id(),
            key_hash=hash_key(key),
            workspace_id=workspace_id,
            role=role,
            name=name,
            created_at=self._clock.now(),
            created_by=created_by,
        )
        self._keys.put(stored)
        self._audit.record(workspace_id, created_by, "api_key.create", stored.key_id, role=role.value)
        return ApiKeyCreated(**_view(stored).model_dump(), key=key)

    def create_key(self, caller: Caller, req: CreateApiKeyRequest) -> ApiKeyCreated:
        """An admin creates a key in their own workspace."""
        self._audit.authorize(caller, Action.MANAGE_KEYS, "api_key.create")
        if req.role == Role.REVIEWER:
            # Reviewers approve plugins for the whole platform: only the operator issues such keys.
            self._audit.record(caller.workspace_id, caller.actor, "api_key.create", "reviewer", "denied")
            raise ForbiddenError("Reviewer keys are issued by the platform operator, not by workspace admins.")
        return self.issue_key(caller.workspace_id, req.role, req.name, created_by=caller.actor)

    def list_keys(self, caller: Caller) -> list[ApiKeyView]:
        """The workspace's live keys, without secrets."""
        self._audit.authorize(caller, Action.MANAGE_KEYS)
        return [_view(k) for k in self._keys.list_for_workspace(caller.workspace_id) if not k.revoked]

    def revoke_key(self, caller: Caller, key_id: str) -> None:
        """Delete a key of the caller's workspace."""
        self._audit.authorize(caller, Action.MANAGE_KEYS, "api_key.revoke", key_id)
        for key in self._keys.list_for_workspace(caller.workspace_id):
            if key.key_id == key_id:
                self._keys.delete(key)
                self._cache.pop(key.key_hash, None)
                self._audit.record(caller.workspace_id, caller.actor, "api_key.revoke", key_id)
                return
        raise ApiKeyNotFoundError(f"No API key '{key_id}' in this workspace.", key_id=key_id)


def _view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        key_id=key.key_id, name=key.name, role=key.role, created_at=key.created_at, created_by=key.created_by
    )
