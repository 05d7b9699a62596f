"""The one tree of domain errors; ``api/problems.py`` maps each to an RFC 7807 problem.

PlugyardError
 ├─ InvalidRequestError (400)            malformed or too deeply nested JSON, bad query parameters
 │   ├─ PayloadTooLargeError (413)
 │   └─ UnsupportedMediaTypeError (415)  a body not sent as application/json
 ├─ UnauthenticatedError (401)           missing or unknown API key
 │   └─ InvalidTriggerSecretError        inbound trigger call without its secret
 ├─ ForbiddenError (403)                 role does not allow the action
 ├─ NotFoundError (404)                  also for things of another workspace
 │   ├─ PluginNotFoundError, VersionNotFoundError, InstallationNotFoundError,
 │   ├─ WebhookNotFoundError, UploadNotFoundError, ApiKeyNotFoundError
 │   ├─ TaskNotFoundError, TriggerNotFoundError
 │   └─ PathParameterEmptyError          e.g. /api/installations//invocations
 ├─ ConflictError (409)                  already installed, version exists, key in flight
 │   ├─ TaskStateError                   e.g. completing a task that never ran
 │   └─ UpgradeAwaitsConsentError        enabling an installation whose upgrade waits for consent
 ├─ TooManyRequestsError (429)          rate or concurrency limit reached (carries retry_after_s)
 ├─ ValidationFailedError (422)          body/manifest/config does not match its schema
 │   ├─ InvalidManifestError, InvalidArtifactError, InvalidConfigError
 │   ├─ UnsafeUrlError                   a URL the SSRF guard refuses (private target, too long, …)
 │   │   └─ HostUnresolvableError        its host does not resolve (a network condition for http.fetch)
 │   ├─ ScopesNotGrantedError            the grant does not cover the requested scopes
 │   └─ IdempotencyKeyReusedError        same key, different request
 ├─ NetworkError (502)                   a plugin's http.fetch could not reach its host
 └─ DependencyUnavailableError (503)     AWS dependency down (never for caller mistakes)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiKeyNotFoundError",
    "ConflictError",
    "DependencyUnavailableError",
    "ForbiddenError",
    "HostUnresolvableError",
    "IdempotencyKeyReusedError",
    "InstallationNotFoundError",
    "InvalidArtifactError",
    "InvalidConfigError",
    "InvalidManifestError",
    "InvalidRequestError",
    "InvalidTriggerSecretError",
    "NetworkError",
    "NotFoundError",
    "PathParameterEmptyError",
    "PayloadTooLargeError",
    "PluginNotFoundError",
    "PlugyardError",
    "ScopesNotGrantedError",
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
    "WebhookNotFoundError",
]


class PlugyardError(Exception):
    """Base of every error a caller may see; ``code`` is the stable problem type."""

    status = 500
    code = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class InvalidRequestError(PlugyardError):
    """The request cannot be parsed."""

    status, code, title = 400, "invalid-request", "The request is malformed"


class PayloadTooLargeError(InvalidRequestError):
    """The body is larger than the platform accepts."""

    status, code, title = 413, "payload-too-large", "The request body is too large"


class UnsupportedMediaTypeError(InvalidRequestError):
    """The body is not in a media type the route reads."""

    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class UnauthenticatedError(PlugyardError):
    """No valid API key."""

    status, code, title = 401, "unauthenticated", "Authentication required"


class ForbiddenError(PlugyardError):
    """The caller's role does not allow this action."""

    status, code, title = 403, "forbidden", "Not allowed"


class NotFoundError(PlugyardError):
    """Nothing of that name is visible to the caller."""

    status, code, title = 404, "not-found", "Not found"


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

    status, code, title = 409, "conflict", "Conflict"


class UpgradeAwaitsConsentError(ConflictError):
    """An action that only consent to a pending upgrade's new scopes can complete."""

    code, title = "upgrade-awaits-consent", "The upgrade waits for consent"


class ValidationFailedError(PlugyardError):
    """The request is well-formed but its content is invalid."""

    status, code, title = 422, "validation-failed", "The request is invalid"


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

    status, code, title = 502, "network-error", "The remote host could not be reached"


class TooManyRequestsError(PlugyardError):
    """A rate or concurrency limit was reached; retry after ``retry_after_s`` (sent as Retry-After)."""

    status, code, title = 429, "too-many-requests", "Too many requests"


class DependencyUnavailableError(PlugyardError):
    """A backing service is unreachable; the caller may retry."""

    status, code, title = 503, "dependency-unavailable", "A backing service is unavailable"


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
