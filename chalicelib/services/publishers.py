"""Publisher profiles: Ed25519 signing keys, and verification by platform reviewers."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.errors import ForbiddenError, NotFoundError, PublisherNotFoundError
from chalicelib.domain.models import Caller, Publisher, PublisherKey, PublisherView, RegisterKeyRequest
from chalicelib.domain.permissions import Action
from chalicelib.domain.publisher_signing import InvalidSignatureError, key_fingerprint, load_public_key, verify_digest
from chalicelib.ports import Clock, PublisherRepository
from chalicelib.services.audit import AuditService

__all__ = ["PublisherNotFoundError", "PublisherService"]


class PublisherService:
    """Keys a publisher signs with, and the verified badge."""

    def __init__(self, repo: PublisherRepository, audit: AuditService, clock: Clock) -> None:
        self._repo = repo
        self._audit = audit
        self._clock = clock
        # Called when a publisher's public badge changes (the marketplace cache listens).
        self.on_changed: list[Callable[[], None]] = []

    def register_key(self, caller: Caller, req: RegisterKeyRequest) -> PublisherKey:
        """Add a signing key to the caller's publisher (the profile is created with the first key)."""
        self._audit.authorize(caller, Action.PUBLISH, "publisher.key.register")
        if caller.publisher_id is None:
            raise ForbiddenError("This workspace is not registered as a publisher.")
        load_public_key(req.public_key)  # refuse anything that is not a raw Ed25519 key
        profile = self._repo.get(caller.publisher_id) or Publisher(
            publisher_id=caller.publisher_id, name=caller.publisher_id, owner_workspace_id=caller.workspace_id
        )
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
        profile = self._repo.get(caller.publisher_id or "")
        key = next((k for k in profile.keys if k.key_id == key_id), None) if profile else None
        if profile is None or key is None:
            raise NotFoundError(f"No signing key '{key_id}' for this publisher.", key_id=key_id)
        key.revoked = True
        self._repo.put(profile)
        self._audit.record(caller.workspace_id, caller.actor, "publisher.key.revoke", key_id)

    def get(self, publisher_id: str) -> PublisherView:
        """A publisher's public profile."""
        profile = self._repo.get(publisher_id)
        if profile is None:
            raise PublisherNotFoundError(f"No publisher '{publisher_id}'.", publisher_id=publisher_id)
        return PublisherView(
            publisher_id=profile.publisher_id, name=profile.name, verified=profile.verified, keys=profile.keys
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
