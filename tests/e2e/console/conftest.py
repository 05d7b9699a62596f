"""What the console's browser tests share: one browser per engine per session, a fresh workspace, checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from make_run_stack import ROOT, MakeRun

from ..browsers import ENGINES, Driver, launch

# Seconds spent in the browser tests, per engine (launch included), printed at the end of the session.
SPENT: dict[str, float] = {}


@dataclass
class Workspace:
    """A workspace of the test's own, so installing in it disturbs no other test of the shared stack."""

    workspace_id: str
    key: str
    api: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **params: object) -> httpx.Response:
        return httpx.get(
            f"{self.api}{path}", params=params, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )


@pytest.fixture(scope="session")
def console_workspace(make_run: MakeRun) -> Workspace:
    """A workspace the console tests of the session share."""
    return create_workspace(make_run, "Console tests")


def create_workspace(make_run: MakeRun, name: str, publisher: str | None = None) -> Workspace:
    """`plugyard-admin workspace create` against the running stack, as an operator makes a workspace (one that
    publishes as ``publisher`` when given)."""
    workspace_id = f"console-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")},
        "PLUGYARD_STAGE": "dev",
        "PLUGYARD_AWS_ENDPOINT_URL": make_run.moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")]),
    }
    cmd = [sys.executable, "-m", "chalicelib.cli", "workspace", "create", workspace_id, "--name", name]
    cmd += ["--publisher", publisher] if publisher else []
    made = subprocess.run([*cmd, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    return Workspace(workspace_id, json.loads(made.stdout)["key"], make_run.api)


@pytest.fixture(scope="session", params=ENGINES)
def browser(request: pytest.FixtureRequest, make_run: MakeRun) -> Iterator[Driver]:
    """One headless browser of each engine for the whole session (timed from after the stack is up)."""
    started = time.monotonic()
    driver = launch(request.param)
    try:
        yield driver
    finally:
        driver.close()
        SPENT[request.param] = SPENT.get(request.param, 0.0) + time.monotonic() - started
        print(f"\n[console e2e] {request.param}: {SPENT[request.param]:.1f} s in the browser (launch included)")


def assert_accessible(driver: Driver, view: str) -> None:
    """axe-core finds no serious or critical WCAG 2.1 A/AA violation on the view."""
    violations = driver.axe()
    assert not violations, f"[{driver.engine}] {view}: " + json.dumps(violations, indent=1)
