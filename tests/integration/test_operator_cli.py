"""The operator's first keys on a stage: `python -m chalicelib.cli workspace create`, run as an operator runs it
(a subprocess with the stage's PLUGYARD_* settings), and the keys it prints used against the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx

from chalicelib.local.stack import LocalStack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def admin_cli(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.env(), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def get(stack: LocalStack, key: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{stack.api_url}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_first_admin_and_reviewer_keys_of_a_stage(stack: LocalStack) -> None:
    ws, platform = f"acme-{uuid.uuid4().hex[:8]}", f"team-{uuid.uuid4().hex[:8]}"
    made = admin_cli(stack, "workspace", "create", ws, "--name", "Acme", "--publisher", ws, "--json")
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

    reviewer = admin_cli(stack, "workspace", "create", platform, "--name", "Platform team", "--role", "reviewer")
    assert reviewer.returncode == 0, reviewer.stderr
    reviewer_key = reviewer.stdout.strip().splitlines()[-1]
    assert get(stack, reviewer_key, "/api/review/queue").status_code == 200
    assert get(stack, first["key"], "/api/review/queue").status_code == 403  # an admin is no reviewer

    again = admin_cli(stack, "workspace", "create", ws, "--name", "Acme")
    assert again.returncode == 1 and "exists" in again.stdout, (again.stdout, again.stderr)
    wrong = admin_cli(stack, "workspace", "create", f"x-{ws}", "--name", "X", "--role", "owner")
    assert wrong.returncode == 1 and "admin or reviewer" in wrong.stdout
