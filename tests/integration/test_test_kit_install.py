"""The test kit installs with the one command the docs give, offline, and an example's tests pass with it alone.

docs/best-practices.md's shell block (a new virtual environment, ``pip install ./plugin-runtime``, an example's
tests) runs as written (but for the new environment's own copy of pip), with every package index switched
off, in a copy of the repository's plugin-runtime and examples folders. Then every example plugin's own unit
tests run in that environment with the standard library's test runner, from a copy of the plugin's folder and
in isolated mode (no PYTHONPATH, no current directory on the path): they can only pass if the installed kit is
enough.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples" / "plugins").iterdir() if (p / "plugyard.json").exists())
DOC = (ROOT / "docs" / "best-practices.md").read_text()
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("PIP_")}
    return {**env, **OFFLINE}


def _install_block() -> str:
    [block] = [b for b in re.findall(r"```bash\n(.*?)```", DOC, re.S) if "pip install ./plugin-runtime" in b]
    return block


def test_the_documented_install_works_offline_and_every_examples_tests_pass_with_the_kit_alone(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "plugin-runtime", repo / "plugin-runtime", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "examples", repo / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    # The block as written, but its new environment gets no pip of its own: seeding pip and setuptools into it
    # (ensurepip) is Python's work, not the kit's, and costs most of the time. `pip` is this machine's pip
    # acting on the new environment, and the environment holds nothing but what the block installs.
    block = _install_block()
    assert "python3 -m venv .venv-plugin" in block
    script = f'pip() {{ "{sys.executable}" -m pip --python "$VIRTUAL_ENV/bin/python" "$@"; }}\n' + block.replace(
        "python3 -m venv .venv-plugin", "python3 -m venv --without-pip .venv-plugin"
    )
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=repo,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully installed plugyard-runtime-0.1.0" in done.stdout, done.stdout
    assert re.search(r"^OK$", done.stderr, re.M) and "Ran 0 tests" not in done.stderr, done.stderr
    assert took < 60, f"the documented install and test run took {took:.1f} s"

    venv = repo / ".venv-plugin"
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert sorted(p.name for p in site.iterdir()) == [
        "plugyard_runtime",
        "plugyard_runtime-0.1.0.dist-info",
    ]
    installed = site / "plugyard_runtime"
    assert (installed / "py.typed").exists()
    for source in (ROOT / "plugin-runtime" / "plugyard_runtime").glob("*.py"):
        assert (installed / source.name).read_bytes() == source.read_bytes(), source.name

    for folder in EXAMPLES:
        copy = tmp_path / "plugins" / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
        run = subprocess.run(
            [str(venv / "bin" / "python"), "-I", "-m", "unittest", "discover", "-s", str(copy), "-t", str(copy)],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, f"{folder.name}:\n{run.stderr}"
        assert "Ran 0 tests" not in run.stderr and re.search(r"^OK$", run.stderr, re.M), run.stderr


def test_the_backend_builds_a_wheel_and_an_sdist_of_exactly_the_package(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "plugin-runtime" / "_build"))
    try:
        import plugyard_build
    finally:
        sys.path.pop(0)
    wheel = plugyard_build.build_wheel(str(tmp_path))
    again = tmp_path / "again"
    again.mkdir()
    assert plugyard_build.build_wheel(str(again)) == wheel
    assert (again / wheel).read_bytes() == (tmp_path / wheel).read_bytes()  # reproducible
    names = zipfile.ZipFile(tmp_path / wheel).namelist()
    package = sorted(
        f"plugyard_runtime/{p.name}" for p in (ROOT / "plugin-runtime" / "plugyard_runtime").iterdir() if p.is_file()
    )
    assert sorted(n for n in names if n.startswith("plugyard_runtime/")) == package
    assert {n.split("/", 1)[1] for n in names if ".dist-info/" in n} == {"METADATA", "WHEEL", "RECORD"}
    sdist = plugyard_build.build_sdist(str(tmp_path))
    assert sdist == "plugyard_runtime-0.1.0.tar.gz" and (tmp_path / sdist).stat().st_size > 0
    assert plugyard_build.get_requires_for_build_wheel() == []
