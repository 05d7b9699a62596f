"""GET /api/publisher/plugins over real HTTP on the moto stack: a publisher's own plugins in one answer, every
version in whatever review state (the marketplace shows only approved ones), nothing of another workspace."""

from __future__ import annotations

from collections.abc import Callable

from conftest import Tenant, assert_problem, make_zip, manifest, uid

from chalicelib.domain.permissions import Role


def test_a_publisher_sees_its_plugins_with_every_versions_review_state(new_tenant: Callable[..., Tenant]) -> None:
    t, other = new_tenant(), new_tenant()
    assert t.publisher_id and other.publisher_id
    shipped, waiting = uid("shipped"), uid("waiting")
    t.publish_ok(shipped, "1.0.0")
    assert t.submit(make_zip(manifest(shipped, t.publisher_id, "1.1.0"))).status_code == 201
    assert t.submit(make_zip(manifest(waiting, t.publisher_id, "0.1.0"))).status_code == 201
    rejected = t.client(Role.REVIEWER).post(f"/api/review/{waiting}/0.1.0/reject", json={"reason": "needs a README"})
    assert rejected.status_code == 200, rejected.text
    other.publish_ok(uid("theirs"))

    for role in (Role.ADMIN, Role.PUBLISHER):
        answer = t.client(role).get("/api/publisher/plugins")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["publisher_id"] == t.publisher_id
        states = {p["plugin_id"]: [(v["version"], v["state"]) for v in p["versions"]] for p in body["items"]}
        assert states == {shipped: [("1.1.0", "pending"), ("1.0.0", "approved")], waiting: [("0.1.0", "rejected")]}
    by_id = {p["plugin_id"]: p for p in body["items"]}
    assert by_id[waiting]["versions"][0]["review_reason"] == "needs a README"
    assert by_id[shipped]["versions"][1]["deployment"] in ("deploying", "ready")
    assert {v["scan_status"] for p in body["items"] for v in p["versions"]} == {"passed"}
    # The marketplace lists only the approved version; the publisher's own view is where the rest is seen.
    assert [v["version"] for v in other.admin.get(f"/api/plugins/{shipped}").json()["versions"]] == ["1.0.0"]


def test_members_reviewers_and_workspaces_without_a_publisher_are_refused(new_tenant: Callable[..., Tenant]) -> None:
    t, plain = new_tenant(), new_tenant(publisher=False)
    assert_problem(t.client(Role.MEMBER).get("/api/publisher/plugins"), 403, "forbidden")
    assert_problem(t.client(Role.REVIEWER).get("/api/publisher/plugins"), 403, "forbidden")
    assert_problem(plain.admin.get("/api/publisher/plugins"), 404, "publisher-not-found")
