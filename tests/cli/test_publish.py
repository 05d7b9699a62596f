"""From a folder to a running plugin with the real `plugyard` executable against the session's `make run`:
keys, publish (signed, key made on first use), status, install, invoke, logs (and --follow)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import uid
from make_run_stack import MakeRun

from .conftest import Plugyard

pytestmark = pytest.mark.stack

HANDLER = """def main(event, ctx):
    if event.get("fail"):
        raise ValueError("asked to fail")
    print("handled", event.get("name"))
    return {"message": ctx.config.get("greeting", "Hello") + ", " + event.get("name", "world")}
"""


def _plugin(folder: Path, plugin_id: str, version: str = "1.0.0", publisher: str = "plugyard-labs") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "id": plugin_id,
        "name": "CLI test plugin",
        "version": version,
        "publisher": publisher,
        "entrypoints": {"main": "handler:main"},
        "resources": {"memory_mb": 64, "timeout_s": 5},
        "config_schema": {"type": "object", "properties": {"greeting": {"type": "string"}}},
    }
    (folder / "plugyard.json").write_text(json.dumps(manifest, indent=2))
    (folder / "handler.py").write_text(HANDLER)
    return folder


@pytest.fixture
def as_demo(make_run: MakeRun) -> dict[str, str]:
    return {"PLUGYARD_API_URL": make_run.api, "PLUGYARD_API_KEY": make_run.key}


def _approve(make_run: MakeRun, plugin_id: str, version: str) -> None:
    resp = httpx.post(
        f"{make_run.api}/api/review/{plugin_id}/{version}/approve",
        headers={"Authorization": f"Bearer {make_run.reviewer}"},
        json={"reason": "cli test"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text


def test_publish_install_invoke_and_logs(
    plugyard: Plugyard, make_run: MakeRun, as_demo: dict[str, str], tmp_path: Path, user_home: Path
) -> None:
    plugin_id = uid("cli")
    folder = _plugin(tmp_path / "plugin", plugin_id)

    # First publish: a signing key is created, registered, and kept private.
    done = plugyard("publish", str(folder), env=as_demo)
    assert done.code == 0, done.err
    assert "created signing key" in done.err and f"published {plugin_id}@1.0.0" in done.err and "pending" in done.err
    [pem] = (user_home / ".config" / "plugyard" / "keys" / "plugyard-labs").glob("*.pem")
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE(pem.parent.parent.stat().st_mode) == 0o700
    keys = json.loads(plugyard("keys", "list", "--json", env=as_demo).out)["keys"]
    assert {"key_id": pem.stem, "revoked": False, "private_key_here": True}.items() <= next(
        k for k in keys if k["key_id"] == pem.stem
    ).items()

    status = json.loads(plugyard("status", plugin_id, "--json", env=as_demo).out)
    assert [(v["version"], v["state"]) for v in status["versions"]] == [("1.0.0", "pending")]
    _approve(make_run, plugin_id, "1.0.0")
    table = plugyard("status", plugin_id, env=as_demo)
    assert table.code == 0 and "approved" in table.out and "ready" in table.out

    # Install with a configuration file, invoke, read the log.
    config = tmp_path / "config.json"
    config.write_text('{"greeting": "Hi"}')
    inst = json.loads(plugyard("install", plugin_id, "--config", str(config), "--json", env=as_demo).out)
    assert (inst["plugin_id"], inst["version"], inst["state"]) == (plugin_id, "1.0.0", "enabled")
    installation = inst["installation_id"]
    run = plugyard("invoke", installation, "--payload", '{"name": "Ada"}', env=as_demo)
    assert run.code == 0, run.err
    assert json.loads(run.out) == {"message": "Hi, Ada"} and run.err.startswith("succeeded in ")
    failed = plugyard("invoke", installation, "--payload", '{"fail": true}', "--json", env=as_demo)
    assert failed.code == 5
    assert json.loads(failed.out)["error"]["type"] == "ValueError"

    lines = [json.loads(line) for line in plugyard("logs", installation, "--json", env=as_demo).out.splitlines()]
    assert [(i["status"], i["trigger"]) for i in lines] == [("succeeded", "api"), ("failed", "api")]
    assert "handled Ada" in lines[0]["log_excerpt"]
    human = plugyard("logs", installation, env=as_demo)
    assert "  handled Ada" in human.out and "ValueError: asked to fail" in human.err

    # A second version reuses the key.
    _plugin(folder, plugin_id, "1.0.1")
    again = plugyard("publish", str(folder), "--json", env=as_demo)
    assert again.code == 0, again.err
    assert "created signing key" not in again.err
    assert [v["version"] for v in json.loads(again.out)["versions"]] == ["1.0.1", "1.0.0"]

    # Revoked: the private key goes, and the next publish makes (and says so) a new one.
    revoked = plugyard("keys", "revoke", pem.stem, env=as_demo)
    assert revoked.code == 0 and not pem.exists()
    _plugin(folder, plugin_id, "1.0.2")
    third = plugyard("publish", str(folder), env=as_demo)
    assert third.code == 0 and "created signing key" in third.err


def test_logs_follow_shows_new_invocations(
    plugyard_bin: Path, plugyard: Plugyard, make_run: MakeRun, as_demo: dict[str, str], tmp_path: Path
) -> None:
    plugin_id = uid("follow")
    assert plugyard("publish", str(_plugin(tmp_path / "p", plugin_id)), env=as_demo).code == 0
    _approve(make_run, plugin_id, "1.0.0")
    installation = plugyard("install", plugin_id, env=as_demo).out.strip()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | as_demo
    follower = subprocess.Popen(
        [str(plugyard_bin), "logs", installation, "--follow", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)  # it is polling
        assert plugyard("invoke", installation, "--payload", '{"name": "later"}', env=as_demo).code == 0
        assert follower.stdout is not None
        started = time.monotonic()
        line = follower.stdout.readline()  # within its backoff (at most 8 s)
        assert time.monotonic() - started < 15
        assert json.loads(line)["status"] == "succeeded"
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    gone = plugyard("uninstall", installation, env=as_demo)
    assert gone.code == 0 and f"uninstalled {installation}" in gone.err  # messages go to stderr
    again = plugyard("uninstall", installation, env=as_demo)  # nothing left to remove: the API's 404, exit 1
    assert again.code == 1 and "404" in again.out + again.err


def test_publishing_under_another_publisher_is_refused_before_upload(
    plugyard: Plugyard, as_demo: dict[str, str], tmp_path: Path
) -> None:
    folder = _plugin(tmp_path / "p", uid("other"), publisher="acme")
    done = plugyard("publish", str(folder), env=as_demo)
    assert done.code == 4
    assert "names publisher 'acme', but this workspace publishes as 'plugyard-labs'" in done.err


def test_api_refusals_exit_1_with_the_problem(plugyard: Plugyard, as_demo: dict[str, str]) -> None:
    done = plugyard("install", "no-such-plugin", env=as_demo)
    assert done.code == 1
    assert done.err.strip() == (
        "error: Plugin not found: No plugin 'no-such-plugin'. (404 https://plugyard.dev/problems/plugin-not-found)"
    )
    assert plugyard("invoke", "x", "--payload", "[1]", env=as_demo).code == 2
