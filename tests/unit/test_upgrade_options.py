"""What an admin sees before moving an installation (GET /api/installations/{id}/versions) and declining an
upgrade that waits for consent (POST /api/installations/{id}/decline), on the fakes and over the HTTP edge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from conftest import make_zip, manifest

import app as app_module
from chalicelib.container import reset_services
from chalicelib.domain.errors import ConflictError, ForbiddenError, InstallationNotFoundError
from chalicelib.domain.models import Caller, InstallRequest, ReviewDecision, UpgradeRequest
from chalicelib.domain.permissions import Role
from unit.conftest import World, make_world

V1: dict[str, Any] = {
    "permissions": ["tasks:read", "http:fetch"],
    "http": {"allowed_hosts": ["api.example.com", "old.example.com"]},
    "events": ["task.completed"],
}
V2: dict[str, Any] = {
    "permissions": ["tasks:read", "ai:complete"],
    "permission_notes": {"ai:complete": "to summarize your tasks"},
    "http": {"allowed_hosts": ["api.example.com"]},
    "events": ["task.completed", "task.created"],
    "changelog": "Summaries with the assistant.",
}


def _world_with_install(world: World, plugin_id: str) -> tuple[Caller, str]:
    pub = world.caller(world.workspace(publisher="acme"))
    admin = world.caller(world.workspace())
    world.publish(pub, make_zip(manifest(plugin_id, "acme", "1.0.0", **V1)))
    inst = world.services.installs.install(
        admin, InstallRequest(plugin_id=plugin_id, grant=["tasks:read", "http:fetch"])
    )
    world.publish(pub, make_zip(manifest(plugin_id, "acme", "1.1.0", **V1)))
    world.publish(pub, make_zip(manifest(plugin_id, "acme", "2.0.0", **V2)))
    world.submit(pub, make_zip(manifest(plugin_id, "acme", "3.0.0", **V2)))  # pending review: not offered
    return admin, inst.installation_id


def test_options_list_newer_versions_with_what_each_adds_and_removes(world: World) -> None:
    admin, iid = _world_with_install(world, "diffed")
    opts = world.services.installs.upgrade_options(admin, iid)
    assert (opts.installation.installation_id, opts.current.version) == (iid, "1.0.0")
    assert [u.version for u in opts.upgrades] == ["2.0.0", "1.1.0"]  # newest first, approved only
    two, one_one = opts.upgrades
    assert [(s.scope, s.note) for s in two.scopes_added] == [("ai:complete", "to summarize your tasks")]
    assert "assistant" in two.scopes_added[0].description  # plain words, not only the scope id
    assert [s.scope for s in two.scopes_removed] == ["http:fetch"]
    assert (two.hosts_added, two.hosts_removed) == ([], ["old.example.com"])
    assert (two.events_added, two.events_removed) == (["task.created"], [])
    assert two.needs_consent and two.changelog == "Summaries with the assistant."
    assert not one_one.needs_consent and one_one.scopes_added == one_one.scopes_removed == []
    assert opts.rollback is None  # never moved


def test_rollback_option_after_an_upgrade_and_none_once_yanked(world: World) -> None:
    admin, iid = _world_with_install(world, "rolled")
    world.services.installs.upgrade(admin, iid, UpgradeRequest(version="1.1.0"))
    opts = world.services.installs.upgrade_options(admin, iid)
    assert opts.current.version == "1.1.0" and [u.version for u in opts.upgrades] == ["2.0.0"]
    assert opts.rollback is not None and opts.rollback.version == "1.0.0"
    assert not opts.rollback.needs_consent
    world.services.marketplace.review(world.reviewer(), "rolled", "1.0.0", "yank", ReviewDecision(reason="bad"))
    assert world.services.installs.upgrade_options(admin, iid).rollback is None


def test_decline_keeps_the_current_version_and_grants(world: World) -> None:
    admin, iid = _world_with_install(world, "declined")
    pending = world.services.installs.upgrade(admin, iid, UpgradeRequest(version="2.0.0"))
    assert pending.pending_upgrade is not None and pending.version == "1.0.0"
    kept = world.services.installs.decline(admin, iid)
    assert (kept.version, kept.granted, kept.state) == ("1.0.0", ["http:fetch", "tasks:read"], "enabled")
    assert kept.pending_upgrade is None and kept.history[-1]["action"] == "upgrade_declined"
    assert world.services.installs.set_enabled(admin, iid, True).state == "enabled"  # nothing waits any more
    with pytest.raises(ConflictError, match="No upgrade is waiting"):
        world.services.installs.decline(admin, iid)
    items, _ = world.adapters.audit.query(
        admin.workspace_id, action="plugin.upgrade.decline", actor=None, target=None, limit=5, token=None
    )
    assert [(r.outcome, r.detail["declined"], r.detail["kept"]) for r in items] == [("success", "2.0.0", "1.0.0")]


def test_options_and_decline_stay_in_the_callers_workspace_and_role(world: World) -> None:
    admin, iid = _world_with_install(world, "isolated")
    stranger = world.caller(world.workspace())
    with pytest.raises(InstallationNotFoundError):
        world.services.installs.upgrade_options(stranger, iid)
    with pytest.raises(InstallationNotFoundError):
        world.services.installs.decline(stranger, iid)
    member = world.caller(admin.workspace_id, Role.MEMBER)
    assert world.services.installs.upgrade_options(member, iid).current.version == "1.0.0"
    with pytest.raises(ForbiddenError):
        world.services.installs.decline(member, iid)


# --- over the HTTP edge --------------------------------------------------------------------


@pytest.fixture
def http() -> Iterator[tuple[Client, World]]:
    world = make_world()
    reset_services(world.services)
    try:
        with Client(app_module.app) as client:
            yield client, world
    finally:
        reset_services(None)


def _call(client: Client, method: str, path: str, key: str) -> tuple[int, dict[str, Any]]:
    resp = getattr(client.http, method)(path, headers={"Authorization": f"Bearer {key}"})
    return resp.status_code, json.loads(resp.body)


def test_routes_answer_the_options_and_problems(http: tuple[Client, World]) -> None:
    client, world = http
    admin, iid = _world_with_install(world, "routed")
    key = world.services.auth.issue_key(admin.workspace_id, Role.ADMIN, "a", created_by="operator").key
    member = world.services.auth.issue_key(admin.workspace_id, Role.MEMBER, "m", created_by="operator").key
    status, body = _call(client, "get", f"/api/installations/{iid}/versions", key)
    assert status == 200 and body["current"]["version"] == "1.0.0"
    assert [u["version"] for u in body["upgrades"]] == ["2.0.0", "1.1.0"]
    assert body["upgrades"][0]["scopes_added"][0]["scope"] == "ai:complete"
    assert "secret_config_ciphertext" not in body["installation"]
    status, problem = _call(client, "post", f"/api/installations/{iid}/decline", key)
    assert status == 409 and problem["type"].endswith("/conflict")
    status, problem = _call(client, "post", f"/api/installations/{iid}/decline", member)
    assert status == 403 and problem["type"].endswith("/forbidden")
    status, problem = _call(client, "get", "/api/installations/nope/versions", key)
    assert status == 404 and problem["type"].endswith("/installation-not-found")
    world.services.installs.upgrade(admin, iid, UpgradeRequest(version="2.0.0"))
    status, body = _call(client, "post", f"/api/installations/{iid}/decline", key)
    assert status == 200 and body["pending_upgrade"] is None and body["version"] == "1.0.0"
