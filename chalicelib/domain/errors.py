"""The one tree of errors; ``api/problems.py`` maps it to RFC 7807 problems in one table.

Each caller-facing error has a stable ``code`` (the problem's ``type`` is ``…/problems/<code>``) and a
``title``; which HTTP status a branch answers with is decided by the table in the API layer (shown
here in brackets).

PlugyardError [500]
 ├─ InvalidRequestError [400]            malformed or too deeply nested JSON, bad query parameters
 │   ├─ PayloadTooLargeError [413]
 │   └─ UnsupportedMediaTypeError [415]  a body not sent as application/json
 ├─ UnauthenticatedError [401]           missing or unknown API key
 │   ├─ InvalidTriggerSecretError        inbound trigger call without its secret
 │   └─ InvalidCapabilityTokenError      a plugin's capability token is forged, expired or misapplied
 ├─ ForbiddenError [403]                 role does not allow the action
 ├─ NotFoundError [404]                  also for things of another workspace
 │   ├─ PluginNotFoundError, VersionNotFoundError, InstallationNotFoundError,
 │   ├─ WebhookNotFoundError, UploadNotFoundError, ApiKeyNotFoundError, PublisherNotFoundError,
 │   ├─ TaskNotFoundError, TriggerNotFoundError, DeliveryNotFoundError
 │   └─ PathParameterEmptyError          e.g. /api/installations//invocations
 ├─ ConflictError [409]                  already installed, version exists, key in flight
 │   ├─ TaskStateError                   e.g. completing a task that never ran
 │   ├─ UpgradeAwaitsConsentError        enabling an installation whose upgrade waits for consent
 │   ├─ VersionNotReadyError             invoking a version still deploying (Retry-After) or failed to deploy
 │   └─ ConflictDuringRequeueError       a delivery changed while it was queued again
 ├─ TooManyRequestsError [429]           rate or concurrency limit reached (carries retry_after_s)
 ├─ ValidationFailedError [422]          body/manifest/config does not match its schema
 │   ├─ InvalidManifestError, InvalidArtifactError, InvalidConfigError, InvalidSignatureError
 │   ├─ UnsafeUrlError                   a URL the SSRF guard refuses (private target, too long, …)
 │   │   └─ HostUnresolvableError        its host does not resolve (a network condition for http.fetch)
 │   ├─ ScopesNotGrantedError            the grant does not cover the requested scopes
 │   ├─ IdempotencyKeyReusedError        same key, different request
 │   └─ CapabilityFailedError            a plugin's capability call was wrong or could not be served
 ├─ NetworkError [502]                   a plugin's http.fetch could not reach its host
 └─ DependencyUnavailableError [503]     AWS dependency down (never for caller mistakes)
     └─ AiUnavailableError               no AI backend, or it failed

Not for callers (never rendered as problems):
 CapabilityDenied                        a broker's refusal of an ungranted scope (the plugin sees PermissionDenied)
 HookFailedError                         a synchronous hook's plugin ran without success
 PoisonMessageError                      a queue message no retry can fix (goes to the DLQ)
 DeploymentFailedError                   a plugin version's deployment no retry can fix (recorded as failed)
 SignatureVerificationError              an incoming webhook signature does not verify
 EngineNotWiredError, SandboxUnavailableError, MigrationError, ProvisionError   operator-facing failures
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AiUnavailableError",
    "ApiKeyNotFoundError",
    "CapabilityDenied",
    "CapabilityFailedError",
    "ConflictDuringRequeueError",
    "ConflictError",
    "DeliveryNotFoundError",
    "DependencyUnavailableError",
    "DeploymentFailedError",
    "EngineNotWiredError",
    "ForbiddenError",
    "HookFailedError",
    "HostUnresolvableError",
    "IdempotencyKeyReusedError",
    "InstallationNotFoundError",
    "InvalidArtifactError",
    "InvalidCapabilityTokenError",
    "InvalidConfigError",
    "InvalidManifestError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTriggerSecretError",
    "MigrationError",
    "NetworkError",
    "NotFoundError",
    "PathParameterEmptyError",
    "PayloadTooLargeError",
    "PluginNotFoundError",
    "PlugyardError",
    "PoisonMessageError",
    "ProvisionError",
    "PublisherNotFoundError",
    "SandboxUnavailableError",
    "ScopesNotGrantedError",
    "SignatureVerificationError",
    "TaskNotFoundError",
    "TaskStateError",
    "TooManyRequestsError",
    "TriggerNotFoundError",
    "UnauthenticatedError",
    "UnsafeUrlError",
    "UnsupportedMediaTypeError",
    "UpgradeAwaitsConsentError",
    "UploadNotFoundError",
    "ValidationFailedError",
    "VersionNotFoundError",
    "VersionNotReadyError",
    "WebhookNotFoundError",
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


class NotFoundError(PlugyardError):
    """Nothing of that name is visible to the caller."""

    code, title = "not-found", "Not found"


class PluginNotFoundError(NotFoundError):
    """Unknown plugin id."""

    code, title = "plugin-not-found", "Plugin not found"

    def __init__(self, plugin_id: str) -> None:
        super().__init__(f"No plugin '{plugin_id}'.", plugin_id=plugin_id)


class VersionNotFoundError(NotFoundError):
    """Unknown (or not installable) version of a known plugin."""

    code, title = "version-not-found", "Plugin version not found"

    def __init__(self, plugin_id: str, version: str) -> None:
        super().__init__(
            f"Plugin '{plugin_id}' has no installable version '{version}'.",
            plugin_id=plugin_id,
            version=version,
        )


class InstallationNotFoundError(NotFoundError):
    """Unknown installation in the caller's workspace."""

    code, title = "installation-not-found", "Installation not found"

    def __init__(self, ref: str) -> None:
        super().__init__(f"No installation '{ref}' in this workspace.", installation=ref)


class WebhookNotFoundError(NotFoundError):
    """Unknown webhook in the caller's workspace."""

    code, title = "webhook-not-found", "Webhook not found"

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"No webhook '{webhook_id}' in this workspace.", webhook_id=webhook_id)


class UploadNotFoundError(NotFoundError):
    """The upload was never requested, expired, or its file was never PUT."""

    code, title = "upload-not-found", "Upload not found"


class PathParameterEmptyError(NotFoundError):
    """A path segment that names something is empty, so it names nothing."""

    code, title = "path-parameter-empty", "A path parameter is empty"


class ApiKeyNotFoundError(NotFoundError):
    """Unknown API key id in the caller's workspace."""

    code, title = "api-key-not-found", "API key not found"


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


# --- events, tasks and triggers (the events issue) ----------------------------------------------


class TaskNotFoundError(NotFoundError):
    """Unknown task in the caller's workspace."""

    code, title = "task-not-found", "Task not found"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"No task '{task_id}' in this workspace.", task_id=task_id)


class TriggerNotFoundError(NotFoundError):
    """Unknown trigger of an installation in the caller's workspace."""

    code, title = "trigger-not-found", "Trigger not found"

    def __init__(self, installation_id: str, name: str) -> None:
        super().__init__(
            f"Installation '{installation_id}' has no trigger '{name}'.", installation_id=installation_id, trigger=name
        )


class InvalidTriggerSecretError(UnauthenticatedError):
    """An inbound trigger call without the trigger's secret (or for a trigger that does not exist)."""

    code, title = "invalid-trigger-secret", "Trigger secret missing or wrong"


class TaskStateError(ConflictError):
    """The task is not in a state that allows the transition."""

    code, title = "task-state-conflict", "The task is not in a state that allows this"


# --- raised by services and adapters, shown to callers through the table in api/problems.py ----


class PublisherNotFoundError(NotFoundError):
    """No such publisher."""

    code, title = "publisher-not-found", "Publisher not found"


class DeliveryNotFoundError(NotFoundError):
    """Unknown delivery of a webhook in the caller's workspace."""

    code, title = "delivery-not-found", "Delivery not found"

    def __init__(self, webhook_id: str, delivery_id: str) -> None:
        super().__init__(
            f"Webhook '{webhook_id}' has no delivery '{delivery_id}'.", webhook_id=webhook_id, delivery_id=delivery_id
        )


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


# --- not for callers: signals and operator failures, never rendered as problems -------------


class EngineNotWiredError(RuntimeError):
    """No execution engine is wired into this process, so a plugin that should run cannot."""


class HookFailedError(Exception):
    """The hook's plugin ran but did not succeed (status carried for the outcome)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class MigrationError(RuntimeError):
    """A migration run could not proceed (unknown id, lock held, gap in the applied history)."""


class ProvisionError(RuntimeError):
    """The stack could not be created; the message carries CloudFormation's reasons."""


class DeploymentFailedError(Exception):
    """A deployment no retry can fix (missing artifact, a function AWS put in state Failed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PoisonMessageError(Exception):
    """A message no retry can fix (unparseable, wrong shape); it goes to the DLQ with ``reason``."""

    def __init__(self, reason: str, code: str = "malformed-message") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class CapabilityDenied(Exception):
    """Raised by a broker when the installation lacks the scope a capability needs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureVerificationError(Exception):
    """A signature does not verify (or its headers are missing or out of the time window)."""


class SandboxUnavailableError(RuntimeError):
    """The machine cannot run the bubblewrap sandbox; plugins are never run unsandboxed instead."""
