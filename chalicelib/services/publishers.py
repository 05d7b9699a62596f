"""Publisher profiles: self-serve creation, Ed25519 signing keys, and verification by platform reviewers.

A workspace publishes under at most one publisher id, recorded on the workspace (``Workspace.publisher_id``,
which API keys carry as ``Caller.publisher_id``) and owned by it (``Publisher.owner_workspace_id``)."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.errors import ForbiddenError, NotFoundError, PublisherNotFoundError, PublisherTakenError
from chalicelib.domain.models import (
    Caller,
    CreatePublisherRequest,
    Publisher,
    PublisherKey,
    PublisherView,
    RegisterKeyRequest,
)
from chalicelib.domain.permissions import Action
from chalicelib.domain.publisher_signing import InvalidSignatureError, key_fingerprint, load_public_key, verify_digest
from chalicelib.ports import Clock, PublisherRepository, WorkspaceRepository
from chalicelib.services.audit import AuditService

__all__ = ["PublisherNotFoundError", "PublisherService"]


class PublisherService:
    """Keys a publisher signs with, and the verified badge."""

    def __init__(
        self, repo: PublisherRepository, workspaces: WorkspaceRepository, audit: AuditService, clock: Clock
    ) -> None:
        self._repo = repo
        self._workspaces = workspaces
        self._audit = audit
        self._clock = clock
        # Called when a publisher's public badge changes (the marketplace cache listens).
        self.on_changed: list[Callable[[], None]] = []

    def create(self, caller: Caller, req: CreatePublisherRequest) -> PublisherView:
        """A workspace admin gives the workspace its publisher identity; its keys publish under it from now on."""
        self._audit.authorize(caller, Action.MANAGE_PUBLISHER, "publisher.create", req.publisher_id)
        workspace = self._workspaces.get(caller.workspace_id)
        if workspace is None:  # authenticated a moment ago: only a deleted workspace gets here
            raise ForbiddenError("The API key's workspace no longer exists.")
        if workspace.publisher_id is not None:
            self._audit.record(
                caller.workspace_id, caller.actor, "publisher.create", req.publisher_id, "failed", reason="has-one"
            )
            raise PublisherTakenError(
                f"This workspace already publishes as '{workspace.publisher_id}'; a workspace has one publisher.",
                publisher_id=workspace.publisher_id,
            )
        profile = Publisher(
            publisher_id=req.publisher_id,
            name=req.name,
            owner_workspace_id=caller.workspace_id,
            created_at=self._clock.now(),
        )
        try:
            self._repo.create(profile)
        except PublisherTakenError:
            self._audit.record(
                caller.workspace_id, caller.actor, "publisher.create", req.publisher_id, "failed", reason="taken"
            )
            raise
        self._workspaces.put(workspace.model_copy(update={"publisher_id": req.publisher_id}))
        self._audit.record(caller.workspace_id, caller.actor, "publisher.create", req.publisher_id, name=req.name)
        return self._view(profile)

    def publisher_of(self, caller: Caller) -> str | None:
        """The caller's publisher id, read fresh when its key was authenticated before the workspace had one."""
        if caller.publisher_id is not None:
            return caller.publisher_id
        workspace = self._workspaces.get(caller.workspace_id)
        return workspace.publisher_id if workspace else None

    def mine(self, caller: Caller) -> PublisherView:
        """The caller's workspace's publisher profile."""
        self._audit.authorize(caller, Action.READ_MARKETPLACE)
        publisher_id = self.publisher_of(caller)
        if publisher_id is None:
            raise PublisherNotFoundError(
                "This workspace has no publisher yet; an admin creates one with POST /api/publishers."
            )
        profile = self._repo.get(publisher_id)
        return (
            self._view(profile)
            if profile
            else PublisherView(publisher_id=publisher_id, name=publisher_id, verified=False, keys=[])
        )

    def register_key(self, caller: Caller, req: RegisterKeyRequest) -> PublisherKey:
        """Add a signing key to the caller's publisher (a workspace an operator gave a publisher id before ids got their
        profile on creation gets its profile here, with its first key)."""
        self._audit.authorize(caller, Action.PUBLISH, "publisher.key.register")
        publisher_id = self.publisher_of(caller)
        if publisher_id is None:
            raise ForbiddenError(
                "This workspace is not registered as a publisher; an admin creates one with POST /api/publishers."
            )
        load_public_key(req.public_key)  # refuse anything that is not a raw Ed25519 key
        profile = self._repo.get(publisher_id) or Publisher(
            publisher_id=publisher_id,
            name=publisher_id,
            owner_workspace_id=caller.workspace_id,
            created_at=self._clock.now(),
        )
        if profile.owner_workspace_id != caller.workspace_id:
            raise ForbiddenError(f"The publisher '{publisher_id}' belongs to another workspace.")
        key_id = key_fingerprint(req.public_key)
        existing = next((k for k in profile.keys if k.key_id == key_id), None)
        if existing is not None and not existing.revoked:
            return existing
        key = PublisherKey(key_id=key_id, public_key=req.public_key.strip(), created_at=self._clock.now())
        profile.keys = [k for k in profile.keys if k.key_id != key_id] + [key]
        self._repo.put(profile)
        self._audit.record(caller.workspace_id, caller.actor, "publisher.key.register", key_id)
        return key

    def revoke_key(self, caller: Caller, key_id: str) -> None:
        """Stop accepting signatures by a key; versions it signed stay published."""
        self._audit.authorize(caller, Action.PUBLISH, "publisher.key.revoke", key_id)
        profile = self._repo.get(self.publisher_of(caller) or "")
        key = next((k for k in profile.keys if k.key_id == key_id), None) if profile else None
        if profile is None or key is None or profile.owner_workspace_id != caller.workspace_id:
            raise NotFoundError(f"No signing key '{key_id}' for this publisher.", key_id=key_id)
        key.revoked = True
        self._repo.put(profile)
        self._audit.record(caller.workspace_id, caller.actor, "publisher.key.revoke", key_id)

    def get(self, publisher_id: str) -> PublisherView:
        """A publisher's public profile."""
        profile = self._repo.get(publisher_id)
        if profile is None:
            raise PublisherNotFoundError(f"No publisher '{publisher_id}'.", publisher_id=publisher_id)
        return self._view(profile)

    @staticmethod
    def _view(profile: Publisher) -> PublisherView:
        return PublisherView(
            publisher_id=profile.publisher_id,
            name=profile.name,
            verified=profile.verified,
            verified_at=profile.verified_at,
            keys=profile.keys,
        )

    def is_verified(self, publisher_id: str) -> bool:
        """Whether a reviewer verified the publisher."""
        profile = self._repo.get(publisher_id)
        return bool(profile and profile.verified)

    def set_verified(self, caller: Caller, publisher_id: str, verified: bool) -> PublisherView:
        """A reviewer marks a publisher verified (or withdraws it)."""
        self._audit.authorize(caller, Action.REVIEW, "publisher.verify", publisher_id)
        profile = self._repo.get(publisher_id)
        if profile is None:
            raise PublisherNotFoundError(f"No publisher '{publisher_id}'.", publisher_id=publisher_id)
        profile.verified = verified
        profile.verified_by = caller.actor if verified else None
        profile.verified_at = self._clock.now() if verified else None
        self._repo.put(profile)
        for workspace_id in {caller.workspace_id, profile.owner_workspace_id}:
            self._audit.record(workspace_id, caller.actor, "publisher.verify", publisher_id, verified=verified)
        for hook in self.on_changed:
            hook()
        return self.get(publisher_id)

    def check_signature(self, publisher_id: str, sha256: str, signature: str, key_id: str | None) -> str:
        """The id of the active key that signed ``sha256``; InvalidSignatureError if none did."""
        profile = self._repo.get(publisher_id)
        keys = [k for k in (profile.keys if profile else []) if not k.revoked and (key_id in (None, k.key_id))]
        if not keys:
            raise InvalidSignatureError(
                f"Publisher '{publisher_id}' has no active signing key"
                + (f" '{key_id}'" if key_id else "")
                + "; register one with POST /api/publisher/keys.",
            )
        for key in keys:
            if verify_digest(key.public_key, sha256, signature):
                return key.key_id
        raise InvalidSignatureError(
            "The signature does not verify against the publisher's keys: sign the zip's sha256 (hex) with Ed25519.",
            sha256=sha256,
        )
