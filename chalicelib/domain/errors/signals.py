"""Not for callers: signals between parts of the platform and operator-facing failures, never rendered as problems."""

from __future__ import annotations

__all__ = [
    "CapabilityDenied",
    "CatalogChangedError",
    "DeploymentFailedError",
    "EngineNotWiredError",
    "HookFailedError",
    "MigrationError",
    "PoisonMessageError",
    "ProvisionError",
    "SandboxUnavailableError",
    "SignatureVerificationError",
]


class EngineNotWiredError(RuntimeError):
    """No execution engine is wired into this process, so a plugin that should run cannot."""


class CatalogChangedError(Exception):
    """A write that named the catalog generation it read at found it moved: nothing was written, read again."""


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
