"""What every command shares within one run: the environment, the chosen profile, the API client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.publisher_cli.client import ApiClient
from chalicelib.publisher_cli.profiles import Connection, config_dir, resolve

__all__ = ["Session", "api", "connection", "current", "env", "home"]


@dataclass
class Session:
    """Set by the root command's options before any command runs."""

    profile: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)


current = Session()


def env() -> Mapping[str, str]:
    """The process environment (the CLI's only reader of it, passed down from here)."""
    return current.environ


def home() -> Path:
    """The CLI's config folder."""
    return config_dir(current.environ)


def connection() -> Connection:
    """The API URL and key to use (environment first, then the profile); CliError when there are none."""
    return resolve(current.environ, current.profile)


def api() -> ApiClient:
    """A client of the configured API; use as a context manager."""
    return ApiClient(connection())
