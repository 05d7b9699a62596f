"""Exit codes scripts can rely on, and the CLI's errors: every command raises one of these to use them.

The CLI is a client: its errors are exit codes and one line each, not the API's problems (domain/errors/).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ApiError", "CliError", "ExitCode"]


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


class ApiError(CliError):
    """The API refused a request; carries the problem's fields."""

    def __init__(self, status: int, title: str, detail: str, type_: str, details: list[str]) -> None:
        code = ExitCode.API_REFUSED if status < 500 else ExitCode.UNREACHABLE
        line = f"{title}: {detail}" if detail and detail != title else title
        super().__init__(f"{line} ({status} {type_})", code, details)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
