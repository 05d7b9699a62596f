"""Exceptions a plugin sees.

PluginRuntimeError
 ├── PermissionDenied   the installation was not granted the scope a capability needs
 ├── CapabilityError    the host could not complete a capability call (carries the host's error type)
 └── TransportError     the channel to the host broke (pipe closed, HTTP failure, bad frame)
"""

from __future__ import annotations

__all__ = ["CapabilityError", "PermissionDenied", "PluginRuntimeError", "TransportError"]


class PluginRuntimeError(Exception):
    """Base of every error raised by the Plugyard runtime."""


class PermissionDenied(PluginRuntimeError):
    """A capability call outside the installation's granted scopes."""


class CapabilityError(PluginRuntimeError):
    """The host refused or failed a capability call for a reason other than permissions."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class TransportError(PluginRuntimeError):
    """The channel to the host broker failed."""
