"""Where the CLI's configuration lives: profiles saved by ``plugyard login`` and the environment above them.

The environment wins (``PLUGYARD_API_URL``, ``PLUGYARD_API_KEY``), so CI needs no file; otherwise the
profile named by ``--profile`` (or ``PLUGYARD_PROFILE``, else ``default``) from
``$XDG_CONFIG_HOME/plugyard/config.json`` (``~/.config`` when unset). The file and the folder are private
to the user (0600 / 0700): they hold API keys and publisher signing keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.publisher_cli.exits import CliError, ExitCode

__all__ = ["DEFAULT_PROFILE", "Connection", "config_dir", "delete_profile", "resolve", "save_profile", "write_private"]

DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Connection:
    """The API to talk to, with which key, and where each came from (for ``whoami``)."""

    api_url: str
    api_key: str
    profile: str
    source: str


def config_dir(env: Mapping[str, str]) -> Path:
    """The CLI's own folder under the user's config folder (XDG_CONFIG_HOME honoured)."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "plugyard"


def _config_file(env: Mapping[str, str]) -> Path:
    return config_dir(env) / "config.json"


def _load(env: Mapping[str, str]) -> dict[str, Any]:
    path = _config_file(env)
    if not path.exists():
        return {"profiles": {}}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        fix = "fix or delete it and run `plugyard login`"
        raise CliError(f"cannot read {path}: {exc}; {fix}", ExitCode.UNREACHABLE) from exc
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
        raise CliError(
            f"{path} is not a plugyard configuration; delete it and run `plugyard login`", ExitCode.UNREACHABLE
        )
    return data


def write_private(path: Path, content: bytes) -> None:
    """Write a file readable by its owner only (0600, in a 0700 folder), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def save_profile(env: Mapping[str, str], name: str, api_url: str, api_key: str) -> Path:
    """Save (or replace) a profile; returns the file it is in."""
    data = _load(env)
    data["profiles"][name] = {"api_url": api_url.rstrip("/"), "api_key": api_key}
    path = _config_file(env)
    write_private(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
    return path


def delete_profile(env: Mapping[str, str], name: str) -> bool:
    """Forget a profile; False when there was none of that name."""
    data = _load(env)
    if data["profiles"].pop(name, None) is None:
        return False
    write_private(_config_file(env), (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
    return True


def resolve(env: Mapping[str, str], profile: str | None) -> Connection:
    """The connection to use: each of URL and key from the environment, else from the profile."""
    name = profile or env.get("PLUGYARD_PROFILE") or DEFAULT_PROFILE
    saved = _load(env)["profiles"].get(name) or {}
    url, key = env.get("PLUGYARD_API_URL"), env.get("PLUGYARD_API_KEY")
    sources = []
    if url:
        sources.append("PLUGYARD_API_URL")
    if key:
        sources.append("PLUGYARD_API_KEY")
    if (not url or not key) and saved:
        sources.append(f"profile '{name}' ({_config_file(env)})")
    url, key = url or saved.get("api_url"), key or saved.get("api_key")
    if not url or not key:
        missing = " and ".join(n for n, v in (("PLUGYARD_API_URL", url), ("PLUGYARD_API_KEY", key)) if not v)
        raise CliError(
            f"no API configured: set {missing}, or run `plugyard login --api-url URL` (profile '{name}')",
            ExitCode.UNREACHABLE,
        )
    return Connection(api_url=str(url).rstrip("/"), api_key=str(key), profile=name, source=", ".join(sources))
