"""A plugin folder as a reproducible zip: what goes in, what is left out and why.

Same files → same bytes: entries sorted, every timestamp 1980-01-01, every mode 0644, one compressor
setting. ``.plugyardignore`` (gitignore syntax) leaves out more; some things are never packaged whatever it
says — private keys (``*.pem``, ``*.key`` or any file holding a PEM private key), ``.env`` files, version
control folders and caches — since whatever is in the zip reaches everyone who installs the plugin.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

__all__ = ["IGNORE_FILE", "Bundle", "Excluded", "build_bundle", "collect"]

IGNORE_FILE = ".plugyardignore"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODE = 0o100644 << 16
_UNIX = 3  # ZipInfo.create_system: the same on every machine that builds it

_VCS = frozenset({".git", ".hg", ".svn", ".bzr", ".jj"})
_CACHES = frozenset(
    {
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".ipynb_checkpoints",
    }
)
_CACHE_SUFFIXES = (".pyc", ".pyo")
_KEY_SUFFIXES = (".pem", ".key")
_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_JUNK = frozenset({".DS_Store", "Thumbs.db", IGNORE_FILE})


@dataclass(frozen=True)
class Excluded:
    """A path left out of the zip, and why."""

    path: str
    reason: str


@dataclass
class Bundle:
    """What ``collect`` chose: files to package (relative posix paths, sorted) and what it left out."""

    root: Path
    files: list[str] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)

    def zip_bytes(self) -> bytes:
        """The zip, byte for byte the same for the same files."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for rel in self.files:
                info = zipfile.ZipInfo(rel, date_time=_EPOCH)
                info.external_attr = _MODE
                info.create_system = _UNIX
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, (self.root / rel).read_bytes(), compresslevel=6)
        return buf.getvalue()


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec | None:
    path = root / IGNORE_FILE
    if not path.is_file():
        return None
    return pathspec.GitIgnoreSpec.from_lines(path.read_text().splitlines())


def _never(rel: str, name: str, is_dir: bool) -> str | None:
    """Why a path is never packaged, or None."""
    if is_dir:
        if name in _VCS:
            return "version control folder"
        if name in _CACHES or name.endswith(".egg-info"):
            return "cache or virtualenv"
        return None
    if name == ".env" or name.startswith(".env."):
        return "environment file (secrets)"
    if name.lower().endswith(_KEY_SUFFIXES):
        return "key file (*.pem / *.key)"
    if name.endswith(_CACHE_SUFFIXES):
        return "compiled cache"
    if name in _JUNK:
        return "not part of a plugin" if name != IGNORE_FILE else "the ignore file itself"
    return None


def collect(root: Path) -> Bundle:
    """Choose the files of a plugin folder; symbolic links and special files are left out (and said so)."""
    root = root.resolve()
    spec = _ignore_spec(root)
    bundle = Bundle(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        kept_dirs = []
        for name in sorted(dirnames):
            rel = prefix + name
            reason = _never(rel, name, True)
            if reason is None and (here / name).is_symlink():
                reason = "symbolic link (the platform refuses links)"
            if reason is None and spec is not None and spec.match_file(rel + "/"):
                reason = f"matched {IGNORE_FILE}"
            if reason is None:
                kept_dirs.append(name)
            else:
                bundle.excluded.append(Excluded(rel + "/", reason))
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            rel = prefix + name
            path = here / name
            reason = _never(rel, name, False)
            if reason is None and (path.is_symlink() or not path.is_file()):
                reason = "symbolic link or special file (the platform refuses them)"
            if reason is None and spec is not None and spec.match_file(rel):
                reason = f"matched {IGNORE_FILE}"
            if reason is None and _PRIVATE_KEY.search(path.read_bytes()):
                reason = "holds a PEM private key"
            if reason is None:
                bundle.files.append(rel)
            else:
                bundle.excluded.append(Excluded(rel, reason))
    bundle.files.sort()
    bundle.excluded.sort(key=lambda e: e.path)
    return bundle


def build_bundle(root: Path) -> tuple[Bundle, bytes]:
    """Collect a folder and zip it."""
    bundle = collect(root)
    return bundle, bundle.zip_bytes()
