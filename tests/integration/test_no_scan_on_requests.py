"""No request reads a whole table: the API's DynamoDB traffic, recorded by the moto server, holds no Scan.

The one Scan left is the marketplace catalog's snapshot (``DynamoPluginRepository.search``): it reads the
whole Plugins table by design, once per process and catalog generation (an hour at most), never on a warm
request. An index would read the same items, and would put every install-counter update on one hot key.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from conftest import Tenant, manifest, uid

from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack

CATALOG_TABLE = re.compile(r"^plugyard-[a-z0-9-]+-plugins$")
# Modules that serve requests may not call ``.scan(`` (migrations run offline and may).
REQUEST_PATH = ("chalicelib/adapters", "chalicelib/services", "chalicelib/api", "chalicelib/workers")
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def scans(stack: LocalStack) -> Iterator[list[str]]:
    """The table of every DynamoDB Scan the moto server receives inside the block (from any process)."""
    found: list[str] = []
    httpx.post(f"{stack.moto_url}/moto-api/recorder/reset-recording")
    httpx.post(f"{stack.moto_url}/moto-api/recorder/start-recording")
    try:
        yield found
    finally:
        httpx.post(f"{stack.moto_url}/moto-api/recorder/stop-recording")
        lines = httpx.get(f"{stack.moto_url}/moto-api/recorder/download-recording").text.splitlines()
        for line in lines:
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            if headers.get("x-amz-target") != "DynamoDB_20120810.Scan":
                continue
            body = base64.b64decode(entry["body"]) if entry["body_encoded"] else entry["body"].encode()
            found.append(json.loads(body)["TableName"])


def test_review_yank_install_and_audit_requests_issue_no_scan(
    stack: LocalStack, new_tenant: Callable[..., Tenant]
) -> None:
    pub, user = new_tenant(), new_tenant(publisher=False)
    reviewer = pub.client(Role.REVIEWER)
    pid = uid("noscan")
    with scans(stack) as tables:
        assert pub.publish(manifest(pid, pub.publisher_id or ""), approve=False).status_code == 201
        assert any(i["plugin_id"] == pid for i in reviewer.get("/api/review/queue").json()["items"])
        assert pub.approve(pid, "1.0.0").status_code == 200
        assert [p["plugin_id"] for p in user.admin.get("/api/plugins/list", params={"query": pid}).json()["items"]] == [
            pid
        ]
        iid = user.admin.post("/api/plugins/install", json={"plugin_id": pid}).json()["installation_id"]
        assert reviewer.post(f"/api/review/{pid}/1.0.0/yank", json={"reason": "leaks data"}).status_code == 200
        assert user.admin.get(f"/api/installations/{iid}").json()["state"] == "disabled"
        assert user.admin.get("/api/audit/verify").json()["ok"] is True
        assert user.admin.get("/api/audit", params={"action": "plugin.disable"}).json()["items"]
    assert [t for t in tables if not CATALOG_TABLE.match(t)] == []

    user.admin.get("/api/plugins/list")  # the catalog is loaded now; nothing below may read a whole table
    with scans(stack) as warm:
        assert user.admin.get("/api/plugins/list", params={"query": pid}).status_code == 200
        assert reviewer.get("/api/review/queue").status_code == 200
        assert user.admin.get("/api/installations").status_code == 200
        assert user.admin.get("/api/audit/verify").json()["ok"] is True
    assert warm == []


def test_request_path_modules_call_scan_only_for_the_catalog_snapshot() -> None:
    calls = []
    for folder in REQUEST_PATH:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line in path.read_text().splitlines():
                calls += [(str(path.relative_to(ROOT)), name) for name in re.findall(r"(\w+)\.scan\(", line)]
    assert [name for _, name in calls] == ["PluginItem"], calls
    assert calls[0][0].startswith("chalicelib/adapters/dynamo")
