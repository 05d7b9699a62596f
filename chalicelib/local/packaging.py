"""Build a plugin zip from a folder, reproducibly (same files → same sha256)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

__all__ = ["build_plugin_zip"]

_EPOCH = (1980, 1, 1, 0, 0, 0)


def _left_out(rel: str) -> bool:
    """Caches and the plugin's own unit tests: they are for its author, not for the artifact that runs."""
    name = rel.rsplit("/", 1)[-1]
    return (
        "__pycache__" in rel
        or rel.endswith(".pyc")
        or name == "conftest.py"
        or (name.startswith("test_") and name.endswith(".py"))
    )


def build_plugin_zip(folder: Path) -> bytes:
    """Zip every regular file under ``folder`` (no caches, no tests), sorted, with fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            if _left_out(rel):
                continue
            info = zipfile.ZipInfo(rel, date_time=_EPOCH)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()
