"""Webhook endpoints: registration with a Standard Webhooks secret shown once."""

from __future__ import annotations

import base64
import secrets

from chalicelib.domain.errors import ValidationFailedError, WebhookNotFoundError
from chalicelib.domain.events import is_known_event_type
from chalicelib.domain.models import Caller, RegisterWebhookRequest, Webhook, WebhookCreated, WebhookPage, WebhookView
from chalicelib.domain.netguard import Resolver, check_public_url, system_resolver
from chalicelib.domain.permissions import Action
from chalicelib.ports import Clock, IdGenerator, SecretBox, WebhookRepository
from chalicelib.services.audit import AuditService

__all__ = ["WebhookService", "new_secret"]


def new_secret() -> str:
    """A Standard Webhooks symmetric secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


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
    ) -> None:
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
        unknown = [t for t in req.event_types if not is_known_event_type(t)]
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
        secret = new_secret()
        hook = Webhook(
            webhook_id=webhook_id,
            workspace_id=caller.workspace_id,
            url=url,
            event_types=sorted(set(req.event_types)),
            description=req.description,
            secret_ciphertext=self._box.encrypt(secret, context=_context(caller.workspace_id, webhook_id)),
            created_at=self._clock.now(),
            created_by=caller.actor,
        )
        self._repo.put(hook)
        self._audit.record(caller.workspace_id, caller.actor, "webhook.register", webhook_id, url=url)
        return WebhookCreated(**_view(hook).model_dump(), secret=secret)

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
        self._find(caller, webhook_id)
        self._repo.delete(caller.workspace_id, webhook_id)
        self._audit.record(caller.workspace_id, caller.actor, "webhook.delete", webhook_id)

    def signing_secret(self, hook: Webhook) -> str:
        """The decrypted secret, for the deliverer only."""
        return self._box.decrypt(hook.secret_ciphertext, context=_context(hook.workspace_id, hook.webhook_id))

    def _find(self, caller: Caller, webhook_id: str) -> Webhook:
        hook = self._repo.get(caller.workspace_id, webhook_id)
        if hook is None:
            raise WebhookNotFoundError(webhook_id)
        return hook


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
    )
