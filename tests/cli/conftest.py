"""The `plugyard` command run as a user runs it: a console script, in a fresh home, without PYTHONPATH.

`make test` runs .venv/bin/plugyard itself (the Makefile's install stamp installs it editable from this
checkout). The virtualenv may be shared by several checkouts, each re-pointing that editable install at
itself; when it points elsewhere, the tests run an equivalent launcher pinned to this checkout instead of
re-installing (which would pull the install from under another checkout's tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLUGYARD = BIN / "plugyard"


@dataclass
class Result:
    code: int
    out: str
    err: str


Plugyard = Callable[..., Result]


def _installed_from() -> str:
    probe = "import importlib.util as u; print(u.find_spec('chalicelib').submodule_search_locations[0])"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-c", probe], cwd="/", env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def plugyard_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console script when it runs this checkout's code, else a launcher of this checkout's CLI."""
    assert PLUGYARD.exists(), "no .venv/bin/plugyard: the Makefile's install stamp installs it (make test)"
    if _installed_from() == str(ROOT / "chalicelib"):
        return PLUGYARD
    launcher = tmp_path_factory.mktemp("bin") / "plugyard"
    launcher.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from chalicelib.publisher_cli.app import main\n"
        "main()\n"
    )
    launcher.chmod(0o755)
    return launcher


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """A new user's home (with its own config folder)."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def plugyard(plugyard_bin: Path, user_home: Path, tmp_path: Path) -> Plugyard:
    """Run ``plugyard ARGS…`` in a clean environment (no PLUGYARD_*, no PYTHONPATH) as a new user."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGYARD_", "PYTHONPATH", "XDG_"))}
        base.update({"HOME": str(user_home), "COLUMNS": "200"})
        base.pop("NO_COLOR", None)
        base.pop("FORCE_COLOR", None)
        done = subprocess.run(
            [str(plugyard_bin), *args],
            input=input,
            env={**base, **(env or {})},
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run
