"""`plugyard init`: every template is a plugin that passes the API's checks and whose test passes on the test kit;
the publisher is the caller's when the API answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from make_run_stack import MakeRun

from chalicelib.publisher_cli.bundle import collect
from chalicelib.publisher_cli.checks import check_zip
from chalicelib.publisher_cli.scaffold import plugin_id_from
from chalicelib.publisher_cli.templates import TEMPLATES

from .conftest import Plugyard

ROOT = Path(__file__).resolve().parents[2]


def _run_its_tests(folder: Path) -> subprocess.CompletedProcess[str]:
    # The plugin's own test, as its developer runs it: pytest in the folder, the test kit importable.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugin-runtime")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_each_template_validates_and_its_test_passes(plugyard: Plugyard, tmp_path: Path, template: str) -> None:
    folder = tmp_path / f"My {template} Plugin"
    done = plugyard("init", str(folder), "--template", template)
    assert done.code == 0, done.err
    # No API configured: a placeholder publisher, and the developer is told.
    assert "my-publisher — a placeholder" in done.err
    manifest = json.loads((folder / "plugyard.json").read_text())
    assert manifest["id"] == f"my-{template}-plugin" and manifest["publisher"] == "my-publisher"
    bundle = collect(folder)
    assert "test_handler.py" not in bundle.files  # tests stay out of the zip (.plugyardignore)
    verdict = check_zip(bundle.zip_bytes())
    assert verdict.ok and verdict.issues == [], verdict.issues
    tests = _run_its_tests(folder)
    assert tests.returncode == 0 and "1 passed" in tests.stdout, tests.stdout + tests.stderr


@pytest.mark.stack
def test_the_publisher_is_the_callers_when_the_api_answers(
    plugyard: Plugyard, make_run: MakeRun, tmp_path: Path
) -> None:
    env = {"PLUGYARD_API_URL": make_run.api, "PLUGYARD_API_KEY": make_run.key}
    done = plugyard("init", str(tmp_path / "greeter"), "--template", "ai", "--json", env=env)
    assert done.code == 0, done.err
    assert json.loads(done.out)["publisher"] == "plugyard-labs"
    assert json.loads((tmp_path / "greeter" / "plugyard.json").read_text())["publisher"] == "plugyard-labs"


def test_init_refuses_a_folder_with_files_and_unknown_templates(plugyard: Plugyard, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    assert plugyard("init", str(tmp_path / "busy")).code == 2
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
    done = plugyard("init", str(tmp_path / "new"), "--template", "cron")
    assert done.code == 2 and "unknown template 'cron'" in done.err


def test_plugin_ids_from_folder_names() -> None:
    assert plugin_id_from("My Plugin") == "my-plugin"
    assert plugin_id_from("42_Things!") == "things"
    assert plugin_id_from("x") == "x-plugin"
