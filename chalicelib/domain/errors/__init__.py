"""The one tree of errors; ``api/problems.py`` maps it to RFC 7807 problems in one table.

Each caller-facing error has a stable ``code`` (the problem's ``type`` is ``…/problems/<code>``) and a
``title``; which HTTP status a branch answers with is decided by the table in the API layer (shown
here in brackets). The classes live in ``caller.py`` (the root, its branches and their leaves),
``not_found.py`` (the 404 leaves) and ``signals.py`` (not for callers); all are re-exported here.

PlugyardError [500]
 ├─ InvalidRequestError [400]            malformed or too deeply nested JSON, bad query parameters
 │   ├─ PayloadTooLargeError [413]
 │   └─ UnsupportedMediaTypeError [415]  a body not sent as application/json
 ├─ UnauthenticatedError [401]           missing or unknown API key
 │   ├─ InvalidTriggerSecretError        inbound trigger call without its secret
 │   └─ InvalidCapabilityTokenError      a plugin's capability token is forged, expired or misapplied
 ├─ ForbiddenError [403]                 role does not allow the action
 │   └─ DevInstallationsDisabledError    the stage does not allow development installations
 ├─ NotFoundError [404]                  also for things of another workspace
 │   ├─ PluginNotFoundError, VersionNotFoundError, InstallationNotFoundError,
 │   ├─ WebhookNotFoundError, UploadNotFoundError, ApiKeyNotFoundError, PublisherNotFoundError,
 │   ├─ TaskNotFoundError, TriggerNotFoundError, DeliveryNotFoundError, ListenSessionNotFoundError,
 │   ├─ TaskActionNotFoundError          no enabled installation offers that action on tasks
 │   └─ PathParameterEmptyError          e.g. /api/installations//invocations
 ├─ ConflictError [409]                  already installed, version exists, key in flight
 │   ├─ PublisherTakenError              the publisher id is taken, or the workspace already has one
 │   ├─ TaskStateError                   e.g. completing a task that never ran
 │   ├─ LiveEventsDisabledError          a live ticket on a stage without a live WebSocket API
 │   ├─ UpgradeAwaitsConsentError        enabling an installation whose upgrade waits for consent
 │   ├─ VersionNotReadyError             invoking a version still deploying (Retry-After) or failed to deploy
 │   └─ ConflictDuringRequeueError       a delivery changed while it was queued again
 ├─ TooManyRequestsError [429]           rate or concurrency limit reached (carries retry_after_s)
 ├─ ValidationFailedError [422]          body/manifest/config does not match its schema
 │   ├─ InvalidManifestError, InvalidArtifactError, InvalidConfigError, InvalidSignatureError
 │   │   └─ SecretInArtifactError        (an InvalidArtifactError) the zip embeds a private key
 │   ├─ ScanNotAcknowledgedError         approving a version whose scan failed, without saying so
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
 CatalogChangedError                     an install's transaction found the catalog generation it read at moved
 HookFailedError                         a synchronous hook's plugin ran without success
 PoisonMessageError                      a queue message no retry can fix (goes to the DLQ)
 DeploymentFailedError                   a plugin version's deployment no retry can fix (recorded as failed)
 SignatureVerificationError              an incoming webhook signature does not verify
 EngineNotWiredError, SandboxUnavailableError, MigrationError, ProvisionError   operator-facing failures
"""

from __future__ import annotations

from chalicelib.domain.errors.caller import (
    AiUnavailableError,
    CapabilityFailedError,
    ConflictDuringRequeueError,
    ConflictError,
    DependencyUnavailableError,
    DevInstallationsDisabledError,
    ForbiddenError,
    HostUnresolvableError,
    IdempotencyKeyReusedError,
    InvalidArtifactError,
    InvalidCapabilityTokenError,
    InvalidConfigError,
    InvalidManifestError,
    InvalidRequestError,
    InvalidSignatureError,
    InvalidTriggerSecretError,
    LiveEventsDisabledError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    PlugyardError,
    PublisherTakenError,
    ScanNotAcknowledgedError,
    ScopesNotGrantedError,
    SecretInArtifactError,
    TaskStateError,
    TooManyRequestsError,
    UnauthenticatedError,
    UnsafeUrlError,
    UnsupportedMediaTypeError,
    UpgradeAwaitsConsentError,
    ValidationFailedError,
    VersionNotReadyError,
)
from chalicelib.domain.errors.not_found import (
    ApiKeyNotFoundError,
    DeliveryNotFoundError,
    InstallationNotFoundError,
    ListenSessionNotFoundError,
    PathParameterEmptyError,
    PluginNotFoundError,
    PublisherNotFoundError,
    TaskActionNotFoundError,
    TaskNotFoundError,
    TriggerNotFoundError,
    UploadNotFoundError,
    VersionNotFoundError,
    WebhookNotFoundError,
)
from chalicelib.domain.errors.signals import (
    CapabilityDenied,
    CatalogChangedError,
    DeploymentFailedError,
    EngineNotWiredError,
    HookFailedError,
    MigrationError,
    PoisonMessageError,
    ProvisionError,
    SandboxUnavailableError,
    SignatureVerificationError,
)

__all__ = [
    "AiUnavailableError",
    "ApiKeyNotFoundError",
    "CapabilityDenied",
    "CapabilityFailedError",
    "CatalogChangedError",
    "ConflictDuringRequeueError",
    "ConflictError",
    "DeliveryNotFoundError",
    "DependencyUnavailableError",
    "DeploymentFailedError",
    "DevInstallationsDisabledError",
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
    "ListenSessionNotFoundError",
    "LiveEventsDisabledError",
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
    "PublisherTakenError",
    "SandboxUnavailableError",
    "ScanNotAcknowledgedError",
    "ScopesNotGrantedError",
    "SecretInArtifactError",
    "SignatureVerificationError",
    "TaskActionNotFoundError",
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
