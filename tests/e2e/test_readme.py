"""The README walkthrough, executed: `make run`'s stack, the banner's values, every marked block, every answer.

Starts ``python -m chalicelib.local.stack`` (what ``make run`` runs) with the environment the README tells the
reader to use, reads the API base and the reviewer key from the banner, and runs the README's marked blocks in
one bash session (tests/e2e/doc_runner.py): a command that fails, or an answer that differs from the one the
README shows, fails this test, so the walkthrough cannot drift from the code.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.local.stack import free_port

from .doc_runner import extract, run_document

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
START = "PLUGYARD_DEV_API_KEY=pyk_dev_walkthrough PLUGYARD_WEBHOOKS_ALLOW_PRIVATE=true make run"

for tool in ("curl", "openssl", "bwrap"):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def banner() -> Iterator[dict[str, str]]:
    assert f"```bash\n{START}\n```" in README, "the README's start command changed; update this test"
    env = {
        **os.environ,
        "PLUGYARD_PORT": str(free_port()),
        "PLUGYARD_MOTO_PORT": str(free_port()),
        "PLUGYARD_LIVE_PORT": str(free_port()),
        "PLUGYARD_DEV_API_KEY": "pyk_dev_walkthrough",
        "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.stack"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail("make run exited early:\n" + "".join(lines))
            lines.append(line)
            if "Ctrl-C stops every process" in line:
                break
        else:
            pytest.fail("no banner within 120 s:\n" + "".join(lines))
        text = "".join(lines)
        found = {
            "API": re.search(r"^  API\s+(\S+)", text, re.M),
            "REVIEWER": re.search(r"^  Reviewer key\s+(\S+)", text, re.M),
            "KEY": re.search(r"^  Admin API key\s+(\S+)", text, re.M),
        }
        values = {k: m.group(1) for k, m in found.items() if m}
        assert set(values) == set(found), text
        yield {**values, "PORT": env["PLUGYARD_PORT"]}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_the_banner_gives_what_the_readme_exports(banner: dict[str, str]) -> None:
    # The API base is the origin: every route (and the README's "$API/api/...") adds /api itself.
    assert banner["API"] == f"http://127.0.0.1:{banner['PORT']}"
    assert banner["KEY"] == "pyk_dev_walkthrough"
    [env_block] = [b for b in extract(README) if b.env]
    assert f"export API=http://127.0.0.1:8000 KEY={banner['KEY']} REVIEWER=pyk_" in env_block.source


def test_the_readme_walkthrough_runs_as_written(banner: dict[str, str], tmp_path: Path) -> None:
    blocks = extract(README)
    assert len(blocks) >= 7 and sum(len(b.curls) for b in blocks) >= 12
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")}
    problems = run_document(
        README,
        cwd=ROOT,
        out=tmp_path,
        env=env,
        overrides={"API": banner["API"], "REVIEWER": banner["REVIEWER"]},
    )
    assert problems == []


def test_the_api_reference_examples_run_after_the_walkthrough(banner: dict[str, str], tmp_path: Path) -> None:
    import httpx

    doc = (ROOT / "docs" / "api.md").read_text()
    assert sum(len(b.curls) for b in extract(doc)) >= 30
    # The ids the reference's placeholders stand for: the README's installation and webhook, a fresh task and key.
    with httpx.Client(base_url=banner["API"], headers={"Authorization": f"Bearer {banner['KEY']}"}) as api:
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")}
    problems = run_document(
        doc,
        cwd=ROOT,
        out=tmp_path,
        env=env,
        overrides={"API": banner["API"], "KEY": banner["KEY"], "REVIEWER": banner["REVIEWER"], **ids},
    )
    assert problems == []
