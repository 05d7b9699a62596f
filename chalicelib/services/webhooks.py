"""Webhook endpoints: registration with a Standard Webhooks secret shown once."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta

from chalicelib.domain.errors import ValidationFailedError, WebhookNotFoundError
from chalicelib.domain.events import is_subscribable
from chalicelib.domain.models import (
    Caller,
    RegisterWebhookRequest,
    SecretRotated,
    UpdateWebhookRequest,
    Webhook,
    WebhookCreated,
    WebhookPage,
    WebhookView,
)
from chalicelib.domain.netguard import Resolver, check_public_url, system_resolver
from chalicelib.domain.permissions import Action
from chalicelib.domain.webhook_signatures import new_keypair, new_secret
from chalicelib.ports import Clock, IdGenerator, SecretBox, WebhookRepository
from chalicelib.services.audit import AuditService
from chalicelib.services.subscriptions import SubscriptionService

__all__ = ["ROTATION_OVERLAP", "WebhookService", "new_secret"]

# After a rotation the previous key keeps signing alongside the new one this long.
ROTATION_OVERLAP = timedelta(hours=24)


class WebhookService:
    """Register, list, read and delete the caller's webhook endpoints."""

    def __init__(
        self,
        repo: WebhookRepository,
        box: SecretBox,
        audit: AuditService,
        clock: Clock,
        ids: IdGenerator,
        *,
        allow_private: bool,
        resolve: Resolver = system_resolver,
        lifecycle: SubscriptionService | None = None,
    ) -> None:
        self._lifecycle = lifecycle  # keeps Subscriptions in step; None in tests that do not need it
        self._repo = repo
        self._box = box
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._allow_private = allow_private
        self._resolve = resolve

    def register(self, caller: Caller, req: RegisterWebhookRequest) -> WebhookCreated:
        """Store an endpoint and return its signing secret, this once."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.register", str(req.url))
        unknown = [t for t in req.event_types if not is_subscribable(t)]
        if unknown:
            raise ValidationFailedError(
                f"Unknown event types: {', '.join(unknown)}. See GET /api/events/catalog.", unknown_event_types=unknown
            )
        url = str(req.url)
        try:
            check_public_url(url, allow_private=self._allow_private, resolve=self._resolve)
        except ValidationFailedError as exc:
            self._audit.record(caller.workspace_id, caller.actor, "webhook.register", url, "denied", reason=exc.code)
            raise
        webhook_id = self._ids.new_id()
        secret, public_key = _new_signing_key(req.signature_scheme)
        hook = Webhook(
            webhook_id=webhook_id,
            workspace_id=caller.workspace_id,
            url=url,
            event_types=sorted(set(req.event_types)),
            description=req.description,
            secret_ciphertext=self._box.encrypt(secret, context=_context(caller.workspace_id, webhook_id)),
            created_at=self._clock.now(),
            created_by=caller.actor,
            signature_scheme=req.signature_scheme,
            public_key=public_key,
            rate_limit_per_s=req.rate_limit_per_s,
        )
        self._repo.put(hook)
        if self._lifecycle is not None:
            self._lifecycle.webhook_registered(hook)
        self._audit.record(caller.workspace_id, caller.actor, "webhook.register", webhook_id, url=url)
        return WebhookCreated(**_view(hook).model_dump(), secret=None if public_key else secret)

    def list(self, caller: Caller, *, limit: int = 50, token: str | None = None) -> WebhookPage:
        """The workspace's endpoints, without secrets."""
        self._audit.authorize(caller, Action.READ_WEBHOOKS)
        items, next_token = self._repo.list(caller.workspace_id, limit=limit, token=token)
        return WebhookPage(items=[_view(h) for h in items], next_token=next_token)

    def get(self, caller: Caller, webhook_id: str) -> WebhookView:
        """One endpoint, without its secret."""
        self._audit.authorize(caller, Action.READ_WEBHOOKS)
        return _view(self._find(caller, webhook_id))

    def delete(self, caller: Caller, webhook_id: str) -> None:
        """Remove an endpoint; deliveries to it stop."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.delete", webhook_id)
        hook = self._find(caller, webhook_id)
        self._repo.delete(caller.workspace_id, webhook_id)
        if self._lifecycle is not None:
            self._lifecycle.webhook_deleted(hook)
        self._audit.record(caller.workspace_id, caller.actor, "webhook.delete", webhook_id)

    def signing_secret(self, hook: Webhook) -> str:
        """The decrypted secret, for the deliverer only."""
        return self._box.decrypt(hook.secret_ciphertext, context=_context(hook.workspace_id, hook.webhook_id))

    def signing_keys(self, hook: Webhook, now: datetime) -> builtins.list[str]:
        """The keys that sign a message now: the current one, and the previous one during its overlap window."""
        ctx = _context(hook.workspace_id, hook.webhook_id)
        keys = [self._box.decrypt(hook.secret_ciphertext, context=ctx)]
        if hook.previous_secret_ciphertext and hook.previous_expires_at and now < hook.previous_expires_at:
            keys.append(self._box.decrypt(hook.previous_secret_ciphertext, context=ctx))
        return keys

    def rotate_secret(self, caller: Caller, webhook_id: str, *, overlap: timedelta = ROTATION_OVERLAP) -> SecretRotated:
        """Issue a new signing key, shown once; the current one keeps signing beside it for ``overlap``."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.rotate_secret", webhook_id)
        hook = self._find(caller, webhook_id)
        now = self._clock.now()
        secret, public_key = _new_signing_key(hook.signature_scheme)
        hook.previous_secret_ciphertext = hook.secret_ciphertext
        hook.previous_public_key = hook.public_key
        hook.previous_expires_at = now + overlap
        hook.secret_ciphertext = self._box.encrypt(secret, context=_context(hook.workspace_id, hook.webhook_id))
        hook.public_key = public_key
        self._repo.put(hook)
        self._audit.record(
            caller.workspace_id, caller.actor, "webhook.rotate_secret", webhook_id, overlap_s=overlap.total_seconds()
        )
        return SecretRotated(
            **_view(hook).model_dump(), secret=None if public_key else secret, overlap_until=now + overlap
        )

    def enable(self, caller: Caller, webhook_id: str) -> WebhookView:
        """Re-enable a disabled endpoint and forget its failure streak (failed deliveries stay; see recover)."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.enable", webhook_id)
        hook = self._find(caller, webhook_id)
        was = hook.disabled_reason
        hook.state, hook.disabled_reason, hook.disabled_at = "enabled", None, None
        hook.failing_since, hook.failed_attempts = None, 0
        self._repo.put(hook)
        self._repo.reset_failures(caller.workspace_id, webhook_id)
        self._audit.record(caller.workspace_id, caller.actor, "webhook.enable", webhook_id, was_disabled_for=was)
        return _view(hook)

    def disable(self, caller: Caller, webhook_id: str) -> WebhookView:
        """Stop deliveries to an endpoint until it is enabled again; events meanwhile end failed (see recover)."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.disable", webhook_id)
        hook = self._find(caller, webhook_id)
        if hook.state != "disabled":
            hook.state, hook.disabled_at = "disabled", self._clock.now()
            hook.disabled_reason = f"Disabled by {caller.actor}."
            self._repo.put(hook)
            self._audit.record(caller.workspace_id, caller.actor, "webhook.disable", webhook_id)
        return _view(hook)

    def update(self, caller: Caller, webhook_id: str, req: UpdateWebhookRequest) -> WebhookView:
        """Change the description or the rate limit (an explicit null removes the limit)."""
        self._audit.authorize(caller, Action.MANAGE_WEBHOOKS, "webhook.update", webhook_id)
        hook = self._find(caller, webhook_id)
        changed = req.model_dump(exclude_unset=True)
        if "description" in changed and req.description is not None:
            hook.description = req.description
        if "rate_limit_per_s" in changed:
            hook.rate_limit_per_s = req.rate_limit_per_s
        self._repo.put(hook)
        self._audit.record(caller.workspace_id, caller.actor, "webhook.update", webhook_id, changed=sorted(changed))
        return _view(hook)

    def _find(self, caller: Caller, webhook_id: str) -> Webhook:
        hook = self._repo.get(caller.workspace_id, webhook_id)
        if hook is None:
            raise WebhookNotFoundError(webhook_id)
        return hook


def _new_signing_key(scheme: str) -> tuple[str, str | None]:
    """(secret to encrypt and store, public key or None): whsec_ for v1, a whsk_/whpk_ pair for v1a."""
    if scheme == "v1a":
        private, public = new_keypair()
        return private, public
    return new_secret(), None


def _context(workspace_id: str, webhook_id: str) -> dict[str, str]:
    return {"workspace_id": workspace_id, "webhook_id": webhook_id}


def _view(h: Webhook) -> WebhookView:
    return WebhookView(
        webhook_id=h.webhook_id,
        url=h.url,
        event_types=h.event_types,
        description=h.description,
        state=h.state,
        disabled_reason=h.disabled_reason,
        created_at=h.created_at,
        signature_scheme=h.signature_scheme,
        public_key=h.public_key,
        previous_public_key=h.previous_public_key,
        previous_expires_at=h.previous_expires_at,
        rate_limit_per_s=h.rate_limit_per_s,
        failing_since=h.failing_since,
        disabled_at=h.disabled_at,
    )
