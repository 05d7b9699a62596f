"""Errors a caller may see: the root, its branches by HTTP status, and every leaf but the not-found ones."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AiUnavailableError",
    "CapabilityFailedError",
    "ConflictDuringRequeueError",
    "ConflictError",
    "DependencyUnavailableError",
    "ForbiddenError",
    "HostUnresolvableError",
    "IdempotencyKeyReusedError",
    "InvalidArtifactError",
    "InvalidCapabilityTokenError",
    "InvalidConfigError",
    "InvalidManifestError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTriggerSecretError",
    "LiveEventsDisabledError",
    "NetworkError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PlugyardError",
    "PublisherTakenError",
    "ScanNotAcknowledgedError",
    "ScopesNotGrantedError",
    "SecretInArtifactError",
    "TaskStateError",
    "TooManyRequestsError",
    "UnauthenticatedError",
    "UnsafeUrlError",
    "UnsupportedMediaTypeError",
    "UpgradeAwaitsConsentError",
    "ValidationFailedError",
    "VersionNotReadyError",
]


class PlugyardError(Exception):
    """Base of every error a caller may see; ``code`` is the stable problem type."""

    code = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class InvalidRequestError(PlugyardError):
    """The request cannot be parsed."""

    code, title = "invalid-request", "The request is malformed"


class PayloadTooLargeError(InvalidRequestError):
    """The body is larger than the platform accepts."""

    code, title = "payload-too-large", "The request body is too large"


class UnsupportedMediaTypeError(InvalidRequestError):
    """The body is not in a media type the route reads."""

    code, title = "unsupported-media-type", "Unsupported media type"


class UnauthenticatedError(PlugyardError):
    """No valid API key."""

    code, title = "unauthenticated", "Authentication required"


class ForbiddenError(PlugyardError):
    """The caller's role does not allow this action."""

    code, title = "forbidden", "Not allowed"


class DevInstallationsDisabledError(ForbiddenError):
    """This stage does not run development installations (settings: dev_installations)."""

    code, title = "dev-installations-disabled", "Development installations are not allowed here"


class NotFoundError(PlugyardError):
    """Nothing of that name is visible to the caller."""

    code, title = "not-found", "Not found"


class ConflictError(PlugyardError):
    """The request conflicts with the current state."""

    code, title = "conflict", "Conflict"


class UpgradeAwaitsConsentError(ConflictError):
    """An action that only consent to a pending upgrade's new scopes can complete."""

    code, title = "upgrade-awaits-consent", "The upgrade waits for consent"


class VersionNotReadyError(ConflictError):
    """The installation's version is still deploying (or its deployment failed): nothing ran."""

    code, title = "version-not-ready", "The plugin version is not deployed yet"


class ValidationFailedError(PlugyardError):
    """The request is well-formed but its content is invalid."""

    code, title = "validation-failed", "The request is invalid"


class InvalidManifestError(ValidationFailedError):
    """``plugyard.json`` is missing or does not match the manifest schema."""

    code, title = "invalid-manifest", "The plugin manifest is invalid"


class InvalidArtifactError(ValidationFailedError):
    """The plugin zip is unreadable or unsafe."""

    code, title = "invalid-artifact", "The plugin artifact is invalid"


class InvalidConfigError(ValidationFailedError):
    """An installation's configuration does not match the plugin's config schema."""

    code, title = "invalid-config", "The configuration is invalid"


class ScopesNotGrantedError(ValidationFailedError):
    """The grant does not cover every scope the plugin version requests."""

    code, title = "scopes-not-granted", "Requested permissions were not granted"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            "The plugin requests scopes the grant does not cover: " + ", ".join(missing) + ".",
            missing_scopes=missing,
        )


class IdempotencyKeyReusedError(ValidationFailedError):
    """The Idempotency-Key was already used for a different request."""

    code, title = "idempotency-key-reused", "Idempotency-Key reused with a different request"


class UnsafeUrlError(ValidationFailedError):
    """The URL points at an address the platform will not call."""

    code, title = "unsafe-url", "The URL is not allowed"


class HostUnresolvableError(UnsafeUrlError):
    """The URL's host does not resolve; for webhooks a refusal, for ``http.fetch`` a network error."""

    title = "The host does not resolve"


class NetworkError(PlugyardError):
    """An outbound call a plugin asked for could not reach its host (DNS, connect, timeout)."""

    code, title = "network-error", "The remote host could not be reached"


class TooManyRequestsError(PlugyardError):
    """A rate or concurrency limit was reached; retry after ``retry_after_s`` (sent as Retry-After)."""

    code, title = "too-many-requests", "Too many requests"


class DependencyUnavailableError(PlugyardError):
    """A backing service is unreachable; the caller may retry."""

    code, title = "dependency-unavailable", "A backing service is unavailable"


class InvalidTriggerSecretError(UnauthenticatedError):
    """An inbound trigger call without the trigger's secret (or for a trigger that does not exist)."""

    code, title = "invalid-trigger-secret", "Trigger secret missing or wrong"


class TaskStateError(ConflictError):
    """The task is not in a state that allows the transition."""

    code, title = "task-state-conflict", "The task is not in a state that allows this"


class LiveEventsDisabledError(ConflictError):
    """The stage has no live WebSocket API (Settings.live_public_url unset), so there is nothing to connect to."""

    code, title = "live-events-disabled", "This stage has no live events"


class ConflictDuringRequeueError(ConflictError):
    """The delivery changed while it was being queued again; the caller may retry."""

    code, title = "delivery-busy", "The delivery is being processed"

    def __init__(self, delivery_id: str) -> None:
        super().__init__(
            "The delivery changed while it was being queued; retry shortly.", delivery_id=delivery_id, retry_after_s=1
        )


class CapabilityFailedError(ValidationFailedError):
    """A capability call the plugin got wrong (bad arguments, over a cap) or the host could not serve."""

    code, title = "capability-failed", "The capability call failed"


class InvalidCapabilityTokenError(UnauthenticatedError):
    """Missing, forged, expired or misapplied capability token."""

    code, title = "invalid-capability-token", "Invalid capability token"


class InvalidSignatureError(ValidationFailedError):
    """The artifact's signature is missing, malformed, or made by no registered key."""

    code, title = "invalid-signature", "The artifact signature is invalid"


class AiUnavailableError(DependencyUnavailableError):
    """No AI backend is configured, or it failed; the plugin gets this message."""

    code, title = "ai-unavailable", "AI completion is unavailable"


class SecretInArtifactError(InvalidArtifactError):
    """The artifact embeds a private key: shipping it would leak it to everyone who installs the plugin."""

    code, title = "secret-in-artifact", "The plugin artifact embeds a private key"


class ScanNotAcknowledgedError(ValidationFailedError):
    """Approving a version whose upload scan failed (or never ran) without saying so explicitly."""

    code, title = "scan-not-acknowledged", "The version's scan failed; approving it must acknowledge that"


class PublisherTakenError(ConflictError):
    """The publisher id is taken, or the workspace already has a publisher."""

    code, title = "publisher-taken", "The publisher id is taken"
