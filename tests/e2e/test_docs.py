"""The docs, executed: the README walkthrough and the curl examples of docs/ run against `make run`'s stack.

Uses the session's `make run` (tests/e2e/conftest.py), started with the environment the README tells the
reader to use; reads the API base and the reviewer key from its banner, and runs each document's marked blocks
in one bash session (tests/e2e/doc_runner.py): a command that fails, or an answer that differs from the one
the document shows, fails the test, so the docs cannot drift from the code. The documents run in the order
below, each on the state the earlier ones left (the README walkthrough first), as a reader would go.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import make_zip, manifest, uid
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.local.seed import public_key_b64, publish_zip

from .conftest import README, MakeRun
from .doc_runner import extract, run_document

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]

for tool in ("curl", "openssl", "bwrap"):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed", allow_module_level=True)


def _run(doc: str, make_run: MakeRun, out: Path, **ids: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")}
    # As a reader with the virtualenv activated (the `plugyard` command on the PATH) and a config folder of
    # their own (what `plugyard login` saves stays out of the real home).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["XDG_CONFIG_HOME"] = str(out / "config")
    # A reader's shell has no PYTHONPATH to the test kit: a plugin's tests import it from the virtualenv.
    paths = env.get("PYTHONPATH", "").split(os.pathsep)
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p and Path(p).name != "plugin-runtime")
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


# The documents whose examples run after the README's, in this order (each on the state the earlier ones left).
DOCS = ("api.md", "user-guide.md", "webhooks.md", "plugin-developer-guide.md", "quickstart.md")


@pytest.mark.parametrize("name", DOCS)
def test_the_docs_examples_run_as_written(make_run: MakeRun, tmp_path: Path, name: str) -> None:
    doc = (ROOT / "docs" / name).read_text()
    assert extract(doc) and all(b.curls or b.plugyards or b.env for b in extract(doc))
    assert _run(doc, make_run, tmp_path) == []


def test_the_developer_guides_event_envelope_is_what_a_handler_receives(make_run: MakeRun) -> None:
    guide = (ROOT / "docs" / "plugin-developer-guide.md").read_text()
    section = guide.split("### The event a handler receives", 1)[1]
    shown = json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))  # type: ignore[union-attr]
    # A plugin that prints the event its task.completed handler gets, published, approved and installed in demo.
    plugin_id = uid("envelope")
    man = manifest(
        plugin_id,
        "plugyard-labs",
        events=[shown["type"]],
        entrypoints={"main": "handler:main", "on_completed": "handler:on_completed"},
    )
    code = (
        "import json\n\n"
        "def main(event, ctx):\n    return None\n\n"
        "def on_completed(event, ctx):\n    print(json.dumps(event))\n"
    )
    signing_key = Ed25519PrivateKey.generate()
    auth = {"Authorization": f"Bearer {make_run.key}"}
    with httpx.Client(base_url=make_run.api, headers=auth, timeout=30) as api:
        assert api.post("/api/publisher/keys", json={"public_key": public_key_b64(signing_key)}).status_code == 201
        assert publish_zip(api, make_zip(man, {"handler.py": code}), signing_key).status_code == 201
        approved = httpx.post(
            f"{make_run.api}/api/review/{plugin_id}/1.0.0/approve",
            json={"reason": "probe"},
            headers={"Authorization": f"Bearer {make_run.reviewer}"},
        )
        assert approved.status_code == 200, approved.text
        inst = api.post("/api/plugins/install", json={"plugin_id": plugin_id, "grant": []})
        assert inst.status_code == 201, inst.text
        iid = inst.json()["installation_id"]
        task = api.post("/api/tasks", json={"title": shown["data"]["title"]}).json()
        assert api.post(f"/api/tasks/{task['task_id']}/run").status_code == 200
        done = api.post(f"/api/tasks/{task['task_id']}/complete", json={"result": shown["data"]["result"]})
        assert done.status_code == 200, done.text
        record = None
        deadline = time.monotonic() + 60
        while record is None and time.monotonic() < deadline:
            items = api.get(f"/api/installations/{iid}/invocations").json()["items"]
            record = next((i for i in items if i["trigger"] == "event"), None)
            time.sleep(0.2)
        assert record is not None, "the handler was not run for task.completed within 60 s"
        assert api.delete(f"/api/installations/{iid}").status_code == 204
    assert (record["status"], record["entrypoint"]) == ("succeeded", "on_completed"), record
    received = json.loads(record["log_excerpt"].strip().splitlines()[-1])
    # The same keys at every level, and the same kinds of values, as the guide shows.
    assert set(received) == set(shown)
    assert set(received["data"]) == set(shown["data"])
    assert (received["source"], received["type"], received["workspace_id"]) == ("plugyard.host", shown["type"], "demo")
    assert len(received["id"]) == len(shown["id"]) == 26  # a ULID
    assert received["time"].endswith("Z") and received["time"][:4].isdigit()
    assert received["data"]["task_id"] == task["task_id"] and received["data"]["status"] == "completed"
    assert received["data"]["result"] == shown["data"]["result"]
