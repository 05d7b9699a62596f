"""The operator's first keys on a stage: `python -m chalicelib.cli workspace create`, run as an operator runs it
(a subprocess with the stage's PLUGYARD_* settings), and the keys it prints used against the API."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from typing import Any

import httpx

from chalicelib.local.stack import LocalStack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_workspace(stack: LocalStack, *variables: str, endpoint: str | None = None) -> subprocess.CompletedProcess[str]:
    """``make workspace …`` as docs/operations.md shows it, from a shell that set nothing (no PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "PLUGYARD_", "COVERAGE_"))}
    cmd = ["make", "-s", "workspace", f"STAGE={stack.stage}", f"ENDPOINT={endpoint or stack.moto_url}", *variables]
    return subprocess.run(cmd, cwd=REPO, env={**env, "NO_COLOR": "1"}, capture_output=True, text=True, timeout=120)


def get(stack: LocalStack, key: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{stack.api_url}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_first_admin_and_reviewer_keys_of_a_stage(stack: LocalStack) -> None:
    ws, platform = f"acme-{uuid.uuid4().hex[:8]}", f"team-{uuid.uuid4().hex[:8]}"
    made = make_workspace(stack, f"WORKSPACE={ws}", "NAME=Acme", f"PUBLISHER={ws}", "JSON=1")
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)
    assert (first["workspace_id"], first["role"]) == (ws, "admin") and first["key"].startswith("pyk_")

    keys = get(stack, first["key"], "/api/keys")
    assert keys.status_code == 200, keys.text
    listed = keys.json()["items"]
    assert [k["key_id"] for k in listed] == [first["key_id"]]
    assert "key" not in listed[0]  # shown once, at creation, never again
    audit = get(stack, first["key"], "/api/audit").json()["items"]
    assert {r["action"] for r in audit} == {"workspace.create", "api_key.create"}
    assert all(r["actor"] == "operator" for r in audit)
    assert get(stack, first["key"], "/api/audit/verify").json()["ok"] is True

    reviewer = make_workspace(stack, f"WORKSPACE={platform}", "NAME=Platform team", "ROLE=reviewer")
    assert reviewer.returncode == 0, reviewer.stderr
    reviewer_key = reviewer.stdout.strip().splitlines()[-1]
    assert get(stack, reviewer_key, "/api/review/queue").status_code == 200
    assert get(stack, first["key"], "/api/review/queue").status_code == 403  # an admin is no reviewer

    again = make_workspace(stack, f"WORKSPACE={ws}", "NAME=Acme")
    assert again.returncode != 0 and "exists" in again.stdout, (again.stdout, again.stderr)
    wrong = make_workspace(stack, f"WORKSPACE=x-{ws}", "NAME=X", "ROLE=owner")
    assert wrong.returncode != 0 and "admin or reviewer" in wrong.stdout
    usage = make_workspace(stack, "NAME=X")
    assert usage.returncode != 0 and "usage: make workspace" in usage.stdout


def test_an_unreachable_stage_is_one_line_naming_the_cause(stack: LocalStack) -> None:
    dead = make_workspace(stack, "WORKSPACE=nowhere", "NAME=Nowhere", endpoint="http://127.0.0.1:9")
    assert dead.returncode != 0
    (line,) = [ln for ln in dead.stdout.splitlines() if ln.startswith("error:")]
    assert "cannot reach stage" in line and "127.0.0.1:9" in line and "ENDPOINT" in line
    assert "Traceback" not in dead.stdout + dead.stderr
