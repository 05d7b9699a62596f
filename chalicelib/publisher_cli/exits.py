"""Exit codes scripts can rely on, and the one error every command raises to use them."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CliError", "ExitCode"]


class ExitCode(IntEnum):
    """What ``plugyard`` exits with; documented in docs/quickstart.md."""

    OK = 0
    API_REFUSED = 1  # the API answered with a 4xx problem (not allowed, not found, conflict, invalid…)
    USAGE = 2  # a wrong option or argument (click's own code for usage errors)
    UNREACHABLE = 3  # no API URL/key configured, the API cannot be reached, or it failed (5xx)
    INVALID = 4  # the plugin folder or zip fails the platform's checks (validate, package, publish)
    PLUGIN_FAILED = 5  # `invoke`: the API ran the plugin, and the plugin failed (timeout, error, denied…)


class CliError(Exception):
    """A failure to report in one line (plus optional detail lines) with a stable exit code."""

    def __init__(self, message: str, code: ExitCode, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or []
