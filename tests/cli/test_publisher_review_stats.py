"""`plugyard publisher`, `plugyard review` and `plugyard stats` through the real executable against the session's
`make run` stack: a new workspace becomes a publisher and publishes, a reviewer reads the report (files,
manifest, diff, scan) and decides, and the publisher reads its figures."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from make_run_stack import MakeRun

from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.local.seed import public_key_b64

from .conftest import ROOT, Plugyard, Result

pytestmark = pytest.mark.stack

SPAWNS = "import subprocess\n\n\ndef main(event, ctx):\n    return {'code': subprocess.call(['true'])}\n"


@pytest.fixture
def cli(tmp_path: Any) -> Plugyard:
    """``plugyard ARGS…`` as ``python -m chalicelib.publisher_cli`` from this checkout, in a clean environment.

    The same entry point as the console script; run from the checkout because the shared virtualenv's editable
    install of ``plugyard`` is re-pointed by whichever checkout last ran its CLI tests.
    """
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGYARD_", "PYTHONPATH", "XDG_"))}
        base |= {"HOME": str(home), "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
        base.pop("NO_COLOR", None)
        done = subprocess.run(
            [sys.executable, "-m", "chalicelib.publisher_cli", *args],
            env={**base, **(env or {})},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def _new_workspace(make_run: MakeRun) -> str:
    """A workspace without a publisher and its admin key, made as an operator makes one (plugyard-admin)."""
    ws = f"cli-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGYARD_", "COVERAGE_"))}
    path = os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")])
    env |= {"PLUGYARD_STAGE": "dev", "PLUGYARD_AWS_ENDPOINT_URL": make_run.moto_url, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "workspace", "create", ws, "--name", "CLI test", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["key"])


def _publish(api: str, key: str, files: dict[str, str], manifest: dict[str, Any]) -> None:
    """Register a signing key, upload and submit a zip (what `plugyard publish` does; here only the set-up)."""
    signing = Ed25519PrivateKey.generate()
    h = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api, headers=h, timeout=30) as c:
        assert c.post("/api/publisher/keys", json={"public_key": public_key_b64(signing)}).status_code == 201
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("plugyard.json", json.dumps(manifest))
            for name, text in files.items():
                z.writestr(name, text)
        data = buf.getvalue()
        ticket = c.post("/api/plugins/uploads").json()
        httpx.put(ticket["url"], content=data, headers=ticket["headers"], timeout=30).raise_for_status()
        sig = sign_digest(signing, hashlib.sha256(data).hexdigest())
        resp = c.post("/api/plugins/versions", json={"upload_id": ticket["upload_id"], "signature": sig})
        assert resp.status_code == 201, resp.text


def test_a_new_workspace_becomes_a_publisher_gets_reviewed_and_reads_its_stats(
    cli: Plugyard, make_run: MakeRun
) -> None:
    key = _new_workspace(make_run)
    as_admin = {"PLUGYARD_API_URL": make_run.api, "PLUGYARD_API_KEY": key}
    as_reviewer = {"PLUGYARD_API_URL": make_run.api, "PLUGYARD_API_KEY": make_run.reviewer}
    pub = f"cli-pub-{uuid.uuid4().hex[:8]}"

    missing = cli("publisher", "show", env=as_admin)
    assert missing.code == 1 and "POST /api/publishers" in missing.err
    made = cli("publisher", "create", pub, "--name", "CLI Tools", env=as_admin)
    assert made.code == 0, made.err
    assert f"publisher {pub} created" in made.err
    again = cli("publisher", "create", "cli-other-id", "--name", "Again", "--json", env=as_admin)
    assert again.code == 1 and "publisher-taken" in again.err and again.out == ""
    shown = json.loads(cli("publisher", "show", "--json", env=as_admin).out)
    assert (shown["publisher_id"], shown["name"], shown["verified"]) == (pub, "CLI Tools", False)

    plugin = f"cli-plg-{uuid.uuid4().hex[:8]}"
    manifest = {
        "id": plugin,
        "name": "CLI plugin",
        "version": "1.0.0",
        "publisher": pub,
        "entrypoints": {"main": "handler:main"},
        "permissions": ["tasks:read"],
        "permission_notes": {"tasks:read": "reads tasks"},
    }
    _publish(make_run.api, key, {"handler.py": SPAWNS}, manifest)

    queue = cli("review", "queue", "--json", env=as_reviewer)
    assert queue.code == 0, queue.err
    [item] = [i for i in json.loads(queue.out) if i["plugin_id"] == plugin]
    assert (item["scan_status"], item["scan_findings"]) == ("findings", 2)

    show = cli("review", "show", f"{plugin}@1.0.0", env=as_reviewer)
    assert show.code == 0, show.err
    for expected in (
        f"{plugin}@1.0.0",
        "Files",
        "handler.py",
        "plugyard.json",
        "Manifest",
        '"publisher": "' + pub + '"',
        "Permission diff against nothing (first release)",
        "+ scopes tasks:read",
        "Scan findings",
        "process_spawn",
        "handler.py:1:1",
        "handler.py:5:21",
    ):
        assert expected in show.out, (expected, show.out)
    report = json.loads(cli("review", "show", f"{plugin}@1.0.0", "--json", env=as_reviewer).out)
    assert report["scan"]["status"] == "findings" and len(report["files"]) == 2
    # The publisher reads its own version's report too.
    assert cli("review", "show", f"{plugin}@1.0.0", "--json", env=as_admin).code == 0
    assert cli("review", "show", "no-at-sign", env=as_reviewer).code == 2

    # Not a reviewer: refused in one line; a reviewer approves.
    refused = cli("review", "approve", f"{plugin}@1.0.0", env=as_admin)
    assert refused.code == 1 and "forbidden" in refused.err
    approved = cli("review", "approve", f"{plugin}@1.0.0", "--reason", "read it", env=as_reviewer)
    assert approved.code == 0, approved.err
    assert "approved" in approved.err
    assert cli("review", "verify", pub, env=as_reviewer).code == 0
    assert json.loads(cli("publisher", "show", pub, "--json", env=as_admin).out)["verified"] is True

    installed = httpx.post(
        f"{make_run.api}/api/plugins/install",
        json={"plugin_id": plugin, "grant": ["tasks:read"]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert installed.status_code == 201, installed.text
    stats = cli("stats", plugin, "--json", env=as_admin)
    assert stats.code == 0, stats.err
    [v] = json.loads(stats.out)["versions"]
    assert (v["version"], v["installs"], v["uninstalls"], v["invocations"]) == ("1.0.0", 1, 0, 0)
    table = cli("stats", plugin, env={**as_admin, "NO_COLOR": "1"})
    assert table.code == 0 and "1.0.0" in table.out and "–" in table.out
    assert cli("stats", "hello-world", env=as_admin).code == 1  # another publisher's plugin: not found

    yanked = cli("review", "yank", f"{plugin}@1.0.0", "--reason", "test over", "--json", env=as_reviewer)
    assert yanked.code == 0 and json.loads(yanked.out)["state"] == "yanked"
    assert cli("review", "reject", f"{plugin}@1.0.0", env=as_reviewer).code == 2  # --reason is required
