"""Unpacked plugin code belongs to one stack: a private folder, removed when the stack stops."""

from __future__ import annotations

import os
from pathlib import Path

from chalicelib.local.stack import LocalStack


def test_each_stack_unpacks_code_in_its_own_folder_removed_at_stop() -> None:
    a, b = LocalStack(api_port=1, moto_port=2), LocalStack(api_port=3, moto_port=4)
    try:
        assert a.code_dir != b.code_dir
        assert a.env()["PLUGYARD_CODE_CACHE_DIR"] == a.code_dir
        # As the code cache leaves a version: read-only files in read-only folders.
        version = Path(a.code_dir) / ("ab" * 32)
        (version / "pkg").mkdir(parents=True)
        (version / "pkg" / "handler.py").write_text("def main(e, c): return {}\n")
        for path, mode in ((version / "pkg" / "handler.py", 0o444), (version / "pkg", 0o555), (version, 0o555)):
            os.chmod(path, mode)
        a.stop()
        assert not os.path.exists(a.code_dir)
        assert os.path.isdir(b.code_dir)
    finally:
        b.stop()
    assert not os.path.exists(b.code_dir)
