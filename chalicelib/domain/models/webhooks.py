"""Webhook endpoints: registration, the stored form with its encrypted secrets, and views."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, Field

from chalicelib.domain.models._command import _Command

__all__ = [
    "RegisterWebhookRequest",
    "SecretRotated",
    "UpdateWebhookRequest",
    "Webhook",
    "WebhookCreated",
    "WebhookPage",
    "WebhookView",
]


class RegisterWebhookRequest(_Command):
    """Register an endpoint for a set of event types."""

    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, max_length=50)
    description: str = Field("", max_length=500)
    signature_scheme: Literal["v1", "v1a"] = Field(
        "v1", description="v1: HMAC-SHA256 with a whsec_ secret; v1a: Ed25519, verified with the returned whpk_ key."
    )
    rate_limit_per_s: float | None = Field(None, gt=0, le=1000, description="Most deliveries per second; excess waits.")


class UpdateWebhookRequest(_Command):
    """Change an endpoint's description or rate limit (null removes the limit)."""

    description: str | None = Field(None, max_length=500)
    rate_limit_per_s: float | None = Field(None, gt=0, le=1000)


class Webhook(BaseModel):
    """A webhook endpoint as stored (secret encrypted)."""

    webhook_id: str
    workspace_id: str
    url: str
    event_types: list[str]
    description: str = ""
    secret_ciphertext: str
    state: Literal["enabled", "disabled"] = "enabled"
    disabled_reason: str | None = None
    created_at: datetime
    created_by: str
    # Standard Webhooks signing (services/webhooks.py, domain/webhook_signatures.py): for v1a the
    # ciphertext holds the whsk_ key and public_key its whpk_ twin. After a rotation the previous
    # key keeps signing alongside the new one until previous_expires_at.
    signature_scheme: Literal["v1", "v1a"] = "v1"
    public_key: str | None = None
    previous_secret_ciphertext: str | None = None
    previous_public_key: str | None = None
    previous_expires_at: datetime | None = None
    rate_limit_per_s: float | None = None
    # Failure tracking for automatic disabling (services/deliveries.py).
    failing_since: datetime | None = None
    failed_attempts: int = 0
    disabled_at: datetime | None = None


class WebhookView(BaseModel):
    """A webhook as the API shows it: never the secret."""

    webhook_id: str
    url: str
    event_types: list[str]
    description: str
    state: str
    disabled_reason: str | None = None
    created_at: datetime
    signature_scheme: str = "v1"
    public_key: str | None = Field(None, description="v1a only: the whpk_ key receivers verify with.")
    previous_public_key: str | None = None
    previous_expires_at: datetime | None = None
    rate_limit_per_s: float | None = None
    failing_since: datetime | None = None
    disabled_at: datetime | None = None


class WebhookCreated(WebhookView):
    """The one response that carries the signing secret."""

    secret: str | None = Field(
        description="Standard Webhooks signing secret (whsec_…). Shown once. None for v1a (use public_key)."
    )


class SecretRotated(WebhookView):
    """A rotation's result: the new secret (v1) or public key (v1a), shown once."""

    secret: str | None = Field(description="The new whsec_ secret (v1); None for v1a.")
    overlap_until: datetime = Field(description="Until then the previous key signs alongside the new one.")


class WebhookPage(BaseModel):
    """The workspace's webhooks."""

    items: list[WebhookView]
    next_token: str | None = None
