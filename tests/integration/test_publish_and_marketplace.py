"""Publishing over real HTTP (upload → presigned PUT to S3 on moto → submit) and browsing the marketplace."""

from __future__ import annotations

import hashlib
import stat
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
from conftest import Tenant, assert_problem, make_zip, manifest, uid

from chalicelib.domain.permissions import Role
from chalicelib.local.seed import publish_zip
from chalicelib.local.stack import LocalStack


def s3(stack: LocalStack) -> Any:
    return stack.client("s3")


def test_publish_stores_the_artifact_by_digest_in_the_bucket(stack: LocalStack, tenant: Tenant) -> None:
    pid = uid("pub")
    data = make_zip(
        manifest(
            pid, tenant.publisher_id or "", permissions=["tasks:read"], permission_notes={"tasks:read": "to read tasks"}
        )
    )
    resp = tenant.submit(data)
    assert resp.status_code == 201, resp.text
    detail = resp.json()
    sha = hashlib.sha256(data).hexdigest()
    # Submitted, not yet reviewed: visible to its publisher as pending, not listed.
    assert (detail["plugin_id"], detail["latest_version"], detail["publisher"]) == (pid, None, tenant.publisher_id)
    [v] = detail["versions"]
    assert v["state"] == "pending"
    assert v["artifact_sha256"] == sha and v["size_bytes"] == len(data)
    assert v["permissions"] == [
        {"scope": "tasks:read", "description": "Read your workspace's tasks", "note": "to read tasks"}
    ]
    bucket = stack.outputs["ArtifactsBucketName"]
    obj = s3(stack).get_object(Bucket=bucket, Key=f"artifacts/sha256/{sha}.zip")
    assert obj["Body"].read() == data
    uploads = s3(stack).list_objects_v2(Bucket=bucket, Prefix=f"uploads/{tenant.workspace_id}/")
    assert uploads.get("KeyCount", 0) == 0  # the upload is cleaned up once published


def test_a_publisher_key_can_publish_but_a_member_cannot(tenant: Tenant) -> None:
    ok = publish_zip(
        tenant.client(Role.PUBLISHER), make_zip(manifest(uid("pk"), tenant.publisher_id or "")), tenant.signing_key
    )
    assert ok.status_code == 201, ok.text
    assert_problem(tenant.client(Role.MEMBER).post("/api/plugins/uploads"), 403, "forbidden")


def test_bad_manifest_is_422_with_every_error(tenant: Tenant) -> None:
    resp = tenant.publish(manifest("Bad Id", tenant.publisher_id or "", version="1", permissions=["root"]))
    body = assert_problem(resp, 422, "invalid-manifest")
    assert {"id", "version", "permissions"} <= {e["loc"] for e in body["errors"]}


def test_unsafe_zips_are_422(tenant: Tenant) -> None:
    good = manifest(uid("zs"), tenant.publisher_id or "")
    link = zipfile.ZipInfo("evil")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    cases = [
        make_zip(good, entries=[zipfile.ZipInfo("../escape.py")]),
        make_zip(good, entries=[zipfile.ZipInfo("/abs.py")]),
        make_zip(good, entries=[(link, b"/etc/passwd")]),
        make_zip(good, {"bomb.bin": b"\0" * 3_000_000}),
        b"this is not a zip",
    ]
    for data in cases:
        assert_problem(tenant.submit(data), 422, "invalid-artifact")
    assert_problem(tenant.submit(make_zip(None)), 422, "invalid-manifest")


def test_versions_are_immutable_and_digests_unique(tenant: Tenant) -> None:
    pid = uid("imm")
    data = make_zip(manifest(pid, tenant.publisher_id or ""))
    assert tenant.submit(data).status_code == 201
    # Same bytes again (same digest) and different bytes under the same version: both 409.
    assert_problem(tenant.submit(data), 409, "conflict")
    other_bytes = make_zip(manifest(pid, tenant.publisher_id or "", description="changed"))
    body = assert_problem(tenant.submit(other_bytes), 409, "conflict")
    assert body["version"] == "1.0.0"


def test_manifest_publisher_must_be_the_workspace_publisher(tenant: Tenant) -> None:
    body = assert_problem(tenant.publish(manifest(uid("mp"), "someone-else")), 403, "forbidden")
    assert body["publisher"] == "someone-else"


def test_plugin_owned_by_another_workspace_is_403(new_tenant: Callable[..., Tenant]) -> None:
    a, b = new_tenant(), new_tenant()
    pid = uid("own")
    a.publish_ok(pid)
    # b cannot publish a new version of a's plugin, even naming itself as publisher.
    assert_problem(b.publish(manifest(pid, b.publisher_id or "", "2.0.0")), 403, "forbidden")


def test_non_publisher_workspace_cannot_publish(new_tenant: Callable[..., Tenant]) -> None:
    t = new_tenant(publisher=False)
    # Refused at the first step: nothing it uploaded could ever be submitted, so it gets no upload URL.
    body = assert_problem(t.admin.post("/api/plugins/uploads"), 403, "forbidden")
    assert "url" not in body and "not registered as a publisher" in body["detail"]


def test_upload_id_of_another_workspace_is_404(new_tenant: Callable[..., Tenant]) -> None:
    a, b = new_tenant(), new_tenant()
    ticket = a.admin.post("/api/plugins/uploads").json()
    put = httpx.put(
        ticket["url"], content=make_zip(manifest(uid("up"), a.publisher_id or "")), headers=ticket["headers"]
    )
    assert put.status_code == 200
    assert_problem(
        b.admin.post("/api/plugins/versions", json={"upload_id": ticket["upload_id"], "signature": "AAAA"}),
        404,
        "upload-not-found",
    )
    # ... and a never-uploaded id is 404 too, a malformed one 422.
    assert_problem(a.admin.post("/api/plugins/versions", json={"upload_id": "0" * 26, "signature": "AAAA"}), 404)
    assert_problem(a.admin.post("/api/plugins/versions", json={"upload_id": "nope"}), 422)


def test_listing_pages_to_the_end_without_duplicates(tenant: Tenant) -> None:
    tag = uid("page").replace("-", "")
    mine = {tenant.publish_ok(uid("lst"), description=f"{tag} item")["plugin_id"] for _ in range(7)}
    seen: list[str] = []
    token = None
    for _ in range(200):
        params = {"limit": "3", **({"next_token": token} if token else {})}
        page = tenant.client(Role.MEMBER).get("/api/plugins/list", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 3
        seen += [p["plugin_id"] for p in body["items"]]
        token = body["next_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)), "duplicates across pages"
    assert mine <= set(seen)
    # Text search narrows to exactly ours, also across pages.
    found, token = [], None
    while True:
        body = tenant.admin.get(
            "/api/plugins/list", params={"query": tag.upper(), "limit": 2, **({"next_token": token} if token else {})}
        ).json()
        found += [p["plugin_id"] for p in body["items"]]
        token = body["next_token"]
        if not token:
            break
    assert sorted(found) == sorted(mine)


def test_category_filter(tenant: Tenant) -> None:
    tag = uid("cat").replace("-", "")
    sec = tenant.publish_ok(uid("sec"), description=tag, categories=["security"])["plugin_id"]
    tenant.publish_ok(uid("ana"), description=tag, categories=["analytics"])
    body = tenant.admin.get("/api/plugins/list", params={"query": tag, "category": "security"}).json()
    assert [p["plugin_id"] for p in body["items"]] == [sec]
    assert_problem(tenant.admin.get("/api/plugins/list", params={"category": "games"}), 400)


def test_tampered_listing_token_is_400(tenant: Tenant) -> None:
    assert_problem(tenant.admin.get("/api/plugins/list", params={"next_token": "!!garbage"}), 400)
    assert_problem(tenant.admin.get("/api/installations", params={"next_token": "e30x"}), 400)


def test_detail_lists_versions_newest_first(tenant: Tenant) -> None:
    pid = uid("det")
    for v in ["1.0.0", "1.10.0", "1.2.0"]:
        tenant.publish_ok(pid, v)
    body = tenant.client(Role.REVIEWER).get(f"/api/plugins/{pid}").json()
    assert [v["version"] for v in body["versions"]] == ["1.10.0", "1.2.0", "1.0.0"]
    assert body["latest_version"] == "1.10.0"
    assert_problem(tenant.admin.get(f"/api/plugins/{uid('missing')}"), 404, "plugin-not-found")
