"""The docs, executed: the README walkthrough and the curl examples of docs/ run against `make run`'s stack.

Uses the session's `make run` (tests/e2e/conftest.py), started with the environment the README tells the
reader to use; reads the API base and the reviewer key from its banner, and runs each document's marked blocks
in one bash session (tests/e2e/doc_runner.py): a command that fails, or an answer that differs from the one
the document shows, fails the test, so the docs cannot drift from the code. The documents run in the order
below, each on the state the earlier ones left (the README walkthrough first), as a reader would go.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from .conftest import README, MakeRun
from .doc_runner import extract, run_document

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]

for tool in ("curl", "openssl", "bwrap"):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed", allow_module_level=True)


def _run(doc: str, make_run: MakeRun, out: Path, **ids: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")}
    overrides = {"API": make_run.api, "KEY": make_run.key, "REVIEWER": make_run.reviewer, **ids}
    return run_document(doc, cwd=ROOT, out=out, env=env, overrides=overrides)


def test_the_banner_gives_what_the_readme_exports(make_run: MakeRun) -> None:
    # The API base is the origin: every route (and the README's "$API/api/...") adds /api itself.
    assert make_run.api == f"http://127.0.0.1:{make_run.api_port}"
    assert make_run.key == "pyk_dev_walkthrough"
    [env_block] = [b for b in extract(README) if b.env]
    assert f"export API=http://127.0.0.1:8000 KEY={make_run.key} REVIEWER=pyk_" in env_block.source


def test_the_readme_walkthrough_runs_as_written(make_run: MakeRun, tmp_path: Path) -> None:
    blocks = extract(README)
    assert len(blocks) >= 7 and sum(len(b.curls) for b in blocks) >= 12
    assert _run(README, make_run, tmp_path) == []


def test_the_api_reference_examples_run_after_the_walkthrough(make_run: MakeRun, tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    assert sum(len(b.curls) for b in extract(doc)) >= 30
    # The ids the reference's placeholders stand for: the README's installation and webhook, a fresh task and key.
    with httpx.Client(base_url=make_run.api, headers={"Authorization": f"Bearer {make_run.key}"}) as api:
        installs = api.get("/api/installations").json()["items"]
        webhooks = api.get("/api/webhooks").json()["items"]
        task = api.post("/api/tasks", json={"title": "reference task"}).json()
        key = api.post("/api/keys", json={"name": "to revoke", "role": "member"}).json()
    ids = {
        "INSTALLATION": next(i["installation_id"] for i in installs if i["plugin_id"] == "slack-notifier"),
        "WEBHOOK": webhooks[0]["webhook_id"],
        "TASK": task["task_id"],
        "KEY_ID": key["key_id"],
    }
    assert _run(doc, make_run, tmp_path, **ids) == []
