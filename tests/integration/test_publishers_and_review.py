"""Self-serve publishers and reviewer tools over real HTTP on the moto stack: create a publisher and publish under
it at once, the review report (files, manifest, permission diff, scan), the private-key refusal, and the rule
that approving a version whose scan failed must say so."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from typing import Any

from conftest import Tenant, assert_problem, make_zip, manifest, uid

from chalicelib.domain.permissions import Role

SPAWNS = "import subprocess\n\n\ndef main(event, ctx):\n    return subprocess.run(['ls']).returncode\n"


def audit(t: Tenant, action: str) -> list[dict[str, Any]]:
    return list(t.admin.get("/api/audit", params={"action": action}).json()["items"])


def test_an_admin_creates_a_publisher_and_its_keys_publish_under_it_at_once(
    new_tenant: Callable[..., Tenant],
) -> None:
    t = new_tenant(publisher=False)
    pid = uid("acme")
    # Before: no publisher, so nothing can be uploaded (a clear problem, not a silent failure).
    assert_problem(t.admin.get("/api/publisher"), 404, "publisher-not-found")
    assert_problem(t.admin.post("/api/plugins/uploads"), 403, "forbidden")
    created = t.admin.post("/api/publishers", json={"publisher_id": pid, "name": "Acme Tools"})
    assert created.status_code == 201, created.text
    assert created.json() | {"keys": []} == {
        "publisher_id": pid,
        "name": "Acme Tools",
        "verified": False,
        "keys": [],
        "verified_at": None,
    }
    # The same admin key (authenticated before the publisher existed) publishes under it right away.
    t.publisher_id = pid
    t.register_signing_key()
    submitted = t.submit(make_zip(manifest(uid("first"), pid)))
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["publisher"] == pid
    mine = t.client(Role.PUBLISHER).get("/api/publisher").json()
    assert mine["publisher_id"] == pid and len(mine["keys"]) == 1
    [record] = audit(t, "publisher.create")
    assert (record["target"], record["outcome"], record["detail"]["name"]) == (pid, "success", "Acme Tools")


def test_publisher_ids_are_unique_one_per_workspace_and_admin_only(new_tenant: Callable[..., Tenant]) -> None:
    owner, other = new_tenant(publisher=False), new_tenant(publisher=False)
    pid = uid("taken")
    assert owner.admin.post("/api/publishers", json={"publisher_id": pid, "name": "Owner"}).status_code == 201
    body = assert_problem(owner.admin.post("/api/publishers", json={"publisher_id": uid("two"), "name": "x"}), 409)
    assert body["type"].endswith("/publisher-taken") and pid in body["detail"]
    assert_problem(
        other.admin.post("/api/publishers", json={"publisher_id": pid, "name": "Thief"}), 409, "publisher-taken"
    )
    assert_problem(
        other.client(Role.MEMBER).post("/api/publishers", json={"publisher_id": uid("m"), "name": "x"}),
        403,
        "forbidden",
    )
    assert_problem(
        other.client(Role.PUBLISHER).post("/api/publishers", json={"publisher_id": uid("p"), "name": "x"}),
        403,
        "forbidden",
    )
    bad = assert_problem(other.admin.post("/api/publishers", json={"publisher_id": "Not Valid!", "name": "x"}), 422)
    assert bad["errors"][0]["loc"] == "publisher_id"
    # The thief's attempt failed; the member's and the publisher key's were denied (a 422 never reaches the service).
    assert sorted(r["outcome"] for r in audit(other, "publisher.create")) == ["denied", "denied", "failed"]


def test_a_workspace_cannot_publish_under_another_workspaces_publisher(new_tenant: Callable[..., Tenant]) -> None:
    acme, intruder = new_tenant(), new_tenant()
    resp = intruder.submit(make_zip(manifest(uid("fake"), acme.publisher_id or "")))
    body = assert_problem(resp, 403, "forbidden")
    assert acme.publisher_id in body["detail"] and intruder.publisher_id in body["detail"]
    # Nor register signing keys on it by claiming its id.
    assert_problem(intruder.admin.post("/api/publishers", json={"publisher_id": acme.publisher_id, "name": "x"}), 409)


def test_reviewers_verify_publishers_the_badge_shows_and_both_sides_are_audited(tenant: Tenant) -> None:
    pid = tenant.publisher_id
    verified = tenant.client(Role.REVIEWER).post(f"/api/publishers/{pid}/verify", json={"verified": True})
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True and verified.json()["verified_at"]
    assert tenant.client(Role.MEMBER).get(f"/api/publishers/{pid}").json()["verified"] is True
    assert audit(tenant, "publisher.verify")[0]["detail"]["verified"] is True
    assert_problem(tenant.admin.post(f"/api/publishers/{pid}/verify", json={"verified": True}), 403, "forbidden")


def test_the_review_report_lists_files_manifest_diff_and_scan(new_tenant: Callable[..., Tenant]) -> None:
    t, stranger = new_tenant(), new_tenant()
    pid, pub = uid("rep"), t.publisher_id or ""
    t.publish_ok(
        pid,
        "1.0.0",
        permissions=["tasks:read", "storage:read"],
        events=["task.completed"],
        http={"allowed_hosts": ["a.example.com"]},
    )
    files = {"handler.py": SPAWNS, "lib/util.py": "VALUE = 1\n"}
    data = make_zip(
        manifest(
            pid,
            pub,
            "1.1.0",
            permissions=["tasks:read", "http:fetch"],
            events=["task.created"],
            http={"allowed_hosts": ["b.example.com"]},
        ),
        files,
    )
    submitted = t.submit(data)
    assert submitted.status_code == 201, submitted.text
    # The publisher sees its version's scan outcome in its own plugin detail.
    assert [v["scan_status"] for v in submitted.json()["versions"]] == ["findings", "passed"]

    report = t.client(Role.REVIEWER).get(f"/api/plugins/{pid}/versions/1.1.0/report")
    assert report.status_code == 200, report.text
    r = report.json()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        expected = sorted((i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest()) for i in z.infolist())
    assert [(f["path"], f["size"], f["sha256"]) for f in r["files"]] == expected
    assert r["manifest"]["version"] == "1.1.0" and r["manifest"]["publisher"] == pub
    assert r["diff"] == {
        "previous_version": "1.0.0",
        "scopes_added": ["http:fetch"],
        "scopes_removed": ["storage:read"],
        "hosts_added": ["b.example.com"],
        "hosts_removed": ["a.example.com"],
        "events_added": ["task.created"],
        "events_removed": ["task.completed"],
    }
    scan = r["scan"]
    assert scan["status"] == "findings" and scan["files_scanned"] == 3
    assert {(f["kind"], f["path"], f["line"]) for f in scan["findings"]} == {
        ("process_spawn", "handler.py", 1),
        ("process_spawn", "handler.py", 5),
    }
    # The queue shows the outcome; the publisher reads its own report; another workspace sees nothing.
    queue = t.client(Role.REVIEWER).get("/api/review/queue").json()["items"]
    [item] = [i for i in queue if i["plugin_id"] == pid]
    assert (item["scan_status"], item["scan_findings"]) == ("findings", 2)
    assert t.client(Role.PUBLISHER).get(f"/api/plugins/{pid}/versions/1.1.0/report").json()["scan"] == scan
    assert_problem(stranger.admin.get(f"/api/plugins/{pid}/versions/1.1.0/report"), 404, "plugin-not-found")
    assert_problem(t.admin.get(f"/api/plugins/{pid}/versions/9.9.9/report"), 404, "version-not-found")
    # The listed plugin shows no scan outcome to the marketplace.
    public = stranger.admin.get(f"/api/plugins/{pid}").json()
    assert [v.get("scan_status") for v in public["versions"]] == [None]


def test_an_embedded_private_key_is_refused_at_upload(tenant: Tenant) -> None:
    pid = uid("leak")
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKZ5\n-----END PRIVATE KEY-----\n"
    resp = tenant.submit(make_zip(manifest(pid, tenant.publisher_id or ""), {"keys/publisher.pem": pem}))
    body = assert_problem(resp, 422, "secret-in-artifact")
    assert "keys/publisher.pem line 1" in body["detail"]
    assert body["findings"][0]["kind"] == "private_key"
    assert "MC4CAQAwBQYDK2VwBCIEIKZ5" not in resp.text  # the key itself is never echoed
    assert_problem(tenant.admin.get(f"/api/plugins/{pid}"), 404, "plugin-not-found")
    [record] = audit(tenant, "plugin.version.publish")
    assert (record["outcome"], record["detail"]["reason"]) == ("failed", "secret-in-artifact")


def test_approving_a_version_whose_scan_failed_must_be_acknowledged(tenant: Tenant) -> None:
    pid = uid("unparsed")
    files = {"legacy.py": "print 'python 2'\n"}
    assert tenant.submit(make_zip(manifest(pid, tenant.publisher_id or ""), files)).status_code == 201
    reviewer = tenant.client(Role.REVIEWER)
    scan = reviewer.get(f"/api/plugins/{pid}/versions/1.0.0/report").json()["scan"]
    assert scan["status"] == "failed" and "legacy.py" in scan["reason"]
    refused = assert_problem(
        reviewer.post(f"/api/review/{pid}/1.0.0/approve", json={"reason": "ok"}), 422, "scan-not-acknowledged"
    )
    assert "legacy.py" in refused["detail"] and "acknowledge_scan_failure" in refused["detail"]
    ok = reviewer.post(
        f"/api/review/{pid}/1.0.0/approve", json={"reason": "read legacy.py by hand", "acknowledge_scan_failure": True}
    )
    assert ok.status_code == 200 and ok.json()["state"] == "approved", ok.text
    [record] = audit(tenant, "plugin.version.approve")
    assert record["detail"].items() >= {"scan": "failed", "scan_failure_acknowledged": True}.items()
