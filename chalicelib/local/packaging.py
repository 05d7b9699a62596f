"""Build a plugin zip from a folder, reproducibly (same files → same sha256), as `plugyard package` does."""

from __future__ import annotations

from pathlib import Path

__all__ = ["build_plugin_zip"]


def build_plugin_zip(folder: Path) -> bytes:
    """The zip `plugyard package` makes of ``folder``: sorted, fixed timestamps, ``.plugyardignore`` honoured
    (the examples leave their own tests out), keys, ``.env`` files, caches and VCS folders never packed.

    The seed of `make run` publishes the examples through this, so what a new user sees in the marketplace
    is byte for byte what `plugyard publish` would ship from the same folder.
    """
    from chalicelib.publisher_cli.bundle import collect  # pathspec: a dev requirement, as make run installs

    return collect(folder).zip_bytes()
