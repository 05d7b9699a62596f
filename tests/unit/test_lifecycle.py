"""The extension lifecycle on in-memory fakes: signing, review, yank, deprecation, upgrades, consent,
rollback, state, secret config, the metadata cache and the tamper-evident audit log."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from conftest import make_zip, manifest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.container import build_services
from chalicelib.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidConfigError,
    ScopesNotGrantedError,
    UpgradeAwaitsConsentError,
    ValidationFailedError,
    VersionNotFoundError,
)
from chalicelib.domain.models import (
    Caller,
    CreateApiKeyRequest,
    DeprecateRequest,
    InstallRequest,
    RegisterKeyRequest,
    ReviewDecision,
    SubmitVersionRequest,
    UpdateConfigRequest,
    UpgradeRequest,
)
from chalicelib.domain.permissions import Role
from chalicelib.domain.publisher_signing import InvalidSignatureError, sign_digest
from unit.conftest import World


@pytest.fixture
def pub(world: World) -> Caller:
    return world.caller(world.workspace(publisher="acme"))


@pytest.fixture
def admin(world: World) -> Caller:
    return world.caller(world.workspace())


def records(world: World, workspace_id: str, action: str | None = None) -> list[Any]:
    items, _ = world.adapters.audit.query(workspace_id, action=action, actor=None, target=None, limit=200, token=None)
    return items


def install(world: World, caller: Caller, plugin_id: str, **kw: Any) -> Any:
    return world.services.installs.install(caller, InstallRequest(plugin_id=plugin_id, **kw))


# --- signing ------------------------------------------------------------------------------


def _submit_with(world: World, caller: Caller, data: bytes, signature: str) -> Any:
    ticket = world.services.marketplace.request_upload(caller)
    world.adapters.artifacts.put(f"uploads/{caller.workspace_id}/{ticket.upload_id}.zip", data)
    return world.services.marketplace.submit_version(
        caller, SubmitVersionRequest(upload_id=ticket.upload_id, signature=signature)
    )


def test_submit_without_a_registered_key_is_refused(world: World, pub: Caller) -> None:
    data = make_zip(manifest("unsigned", "acme"))
    other = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidSignatureError, match="no active signing key"):
        _submit_with(world, pub, data, sign_digest(other, hashlib.sha256(data).hexdigest()))
    assert world.adapters.versions.get("unsigned", "1.0.0") is None


def test_signature_by_another_key_or_over_other_bytes_is_refused(world: World, pub: Caller) -> None:
    world.signing_key(pub)
    data = make_zip(manifest("forged", "acme"))
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        _submit_with(world, pub, data, sign_digest(stranger, hashlib.sha256(data).hexdigest()))
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        _submit_with(world, pub, data, sign_digest(world.signing_key(pub), hashlib.sha256(b"other").hexdigest()))
    with pytest.raises(InvalidSignatureError, match="base64"):
        _submit_with(world, pub, data, "not base64!!")
    [rec, *_] = records(world, pub.workspace_id, "plugin.version.publish")
    assert (rec.outcome, rec.detail["reason"]) == ("failed", "invalid-signature")


def test_revoked_key_no_longer_signs(world: World, pub: Caller) -> None:
    key = world.signing_key(pub)
    key_id = world.services.publishers.get("acme").keys[0].key_id
    world.services.publishers.revoke_key(pub, key_id)
    data = make_zip(manifest("after-revoke", "acme"))
    with pytest.raises(InvalidSignatureError):
        _submit_with(world, pub, data, sign_digest(key, hashlib.sha256(data).hexdigest()))


def test_register_key_refuses_non_ed25519_material(world: World, pub: Caller) -> None:
    with pytest.raises(InvalidSignatureError, match="32 bytes"):
        world.services.publishers.register_key(pub, RegisterKeyRequest(public_key="A" * 44))


def test_reviewer_verifies_publisher_and_listing_shows_it(world: World, pub: Caller) -> None:
    world.publish(pub, make_zip(manifest("verified-one", "acme")))
    page = world.services.marketplace.list_plugins(pub, query="verified-one", category=None, limit=10, token=None)
    assert page.items[0].publisher_verified is False
    with pytest.raises(ForbiddenError):
        world.services.publishers.set_verified(pub, "acme", True)
    world.services.publishers.set_verified(world.reviewer(), "acme", True)
    page = world.services.marketplace.list_plugins(pub, query="verified-one", category=None, limit=10, token=None)
    assert page.items[0].publisher_verified is True
    assert any(r.action == "publisher.verify" for r in records(world, pub.workspace_id))


# --- review -------------------------------------------------------------------------------


def test_pending_versions_are_neither_listed_nor_installable(world: World, pub: Caller, admin: Caller) -> None:
    world.submit(pub, make_zip(manifest("in-review", "acme")))
    page = world.services.marketplace.list_plugins(admin, query="in-review", category=None, limit=10, token=None)
    assert page.items == []
    with pytest.raises(VersionNotFoundError):
        install(world, admin, "in-review")
    queue = world.services.review.queue(world.reviewer())
    assert [(i.plugin_id, i.version) for i in queue.items] == [("in-review", "1.0.0")]
    with pytest.raises(ForbiddenError):
        world.services.review.queue(admin)  # workspace admins are not platform reviewers


def test_reject_needs_a_reason_and_is_final(world: World, pub: Caller) -> None:
    world.submit(pub, make_zip(manifest("rejected", "acme")))
    reviewer = world.reviewer()
    with pytest.raises(ValidationFailedError, match="reason"):
        world.services.marketplace.review(reviewer, "rejected", "1.0.0", "reject", ReviewDecision())
    v = world.services.marketplace.review(
        reviewer, "rejected", "1.0.0", "reject", ReviewDecision(reason="reads files it should not")
    )
    assert (v.state, v.review_reason) == ("rejected", "reads files it should not")
    with pytest.raises(ConflictError):
        world.services.marketplace.review(reviewer, "rejected", "1.0.0", "approve", ReviewDecision())
    # The publisher sees why; the audit log of the publisher's workspace says who.
    detail = world.services.marketplace.get_plugin(pub, "rejected")
    assert detail.versions[0].review_reason == "reads files it should not"
    [rec] = records(world, pub.workspace_id, "plugin.version.reject")
    assert rec.actor == reviewer.actor


def test_the_detail_names_the_hosts_http_fetch_may_reach_before_anyone_consents(world: World, pub: Caller) -> None:
    hosts = ["hooks.slack.com", "*.example.com"]
    world.publish(pub, make_zip(manifest("fetcher", "acme", permissions=["http:fetch"], http={"allowed_hosts": hosts})))
    world.publish(pub, make_zip(manifest("fetcher", "acme", "1.1.0")))
    admin = world.caller(world.workspace())
    newer, first = world.services.marketplace.get_plugin(admin, "fetcher").versions
    assert (first.version, first.allowed_hosts) == ("1.0.0", hosts)
    assert [p.scope for p in first.permissions] == ["http:fetch"]
    assert (newer.version, newer.allowed_hosts) == ("1.1.0", [])


def test_yank_unlists_and_disables_every_installation_with_a_reason(world: World, pub: Caller) -> None:
    world.publish(pub, make_zip(manifest("yankee", "acme")))
    a, b = world.caller(world.workspace()), world.caller(world.workspace())
    ia, ib = install(world, a, "yankee"), install(world, b, "yankee")
    reviewer = world.reviewer()
    world.services.marketplace.review(reviewer, "yankee", "1.0.0", "yank", ReviewDecision(reason="CVE-2026-1"))
    for caller, inst in ((a, ia), (b, ib)):
        now = world.services.installs.get(caller, inst.installation_id)
        assert now.state == "disabled" and "CVE-2026-1" in (now.disabled_reason or "")
        [rec] = records(world, caller.workspace_id, "plugin.disable")
        assert rec.actor == reviewer.actor and "CVE-2026-1" in rec.detail["reason"]
        with pytest.raises(ConflictError, match="yanked"):
            world.services.installs.set_enabled(caller, inst.installation_id, True)
    page = world.services.marketplace.list_plugins(a, query="yankee", category=None, limit=10, token=None)
    assert page.items == []


def test_deprecation_flags_but_keeps_installable(world: World, pub: Caller, admin: Caller) -> None:
    world.publish(pub, make_zip(manifest("old-thing", "acme")))
    world.services.marketplace.deprecate(pub, "old-thing", None, DeprecateRequest(message="use new-thing"))
    [item] = world.services.marketplace.list_plugins(
        admin, query="old-thing", category=None, limit=10, token=None
    ).items
    assert (item.deprecated, item.deprecation_message) == (True, "use new-thing")
    assert install(world, admin, "old-thing").version == "1.0.0"
    with pytest.raises(Exception, match="No plugin"):
        world.services.marketplace.deprecate(admin, "old-thing", None, DeprecateRequest(message="x"))


def test_admins_cannot_mint_reviewer_keys(world: World, admin: Caller) -> None:
    with pytest.raises(ForbiddenError, match="operator"):
        world.services.auth.create_key(admin, CreateApiKeyRequest(name="sneaky", role=Role.REVIEWER))


# --- versions, upgrades, consent, rollback --------------------------------------------------


def _publish_versions(world: World, pub: Caller, plugin_id: str, perms: dict[str, list[str]]) -> None:
    for version, scopes in perms.items():
        world.publish(pub, make_zip(manifest(plugin_id, "acme", version, permissions=scopes)))


def test_install_by_range_picks_the_highest_match(world: World, pub: Caller, admin: Caller) -> None:
    _publish_versions(world, pub, "ranged", {"1.0.0": [], "1.4.2": [], "2.0.0": []})
    assert install(world, admin, "ranged", version="^1.0").version == "1.4.2"
    other = world.caller(world.workspace())
    assert install(world, other, "ranged", version=">=1.0.0,<1.4.0").version == "1.0.0"
    with pytest.raises(VersionNotFoundError):
        install(world, world.caller(world.workspace()), "ranged", version="^3")


def test_upgrade_without_new_scopes_is_direct(world: World, pub: Caller, admin: Caller) -> None:
    _publish_versions(world, pub, "plain", {"1.0.0": ["tasks:read"], "1.1.0": ["tasks:read"]})
    inst = install(world, admin, "plain", version="1.0.0", grant=["tasks:read"])
    up = world.services.installs.upgrade(admin, inst.installation_id, UpgradeRequest())
    assert (up.version, up.state, up.granted) == ("1.1.0", "enabled", ["tasks:read"])
    assert [h["action"] for h in up.history] == ["install", "upgrade"]


def test_new_scopes_wait_for_consent_then_apply(world: World, pub: Caller, admin: Caller) -> None:
    m = "more-scopes"
    world.publish(pub, make_zip(manifest(m, "acme", "1.0.0", permissions=["tasks:read"])))
    world.publish(
        pub,
        make_zip(
            manifest(
                m,
                "acme",
                "2.0.0",
                permissions=["tasks:read", "ai:complete"],
                permission_notes={"ai:complete": "to summarize tasks"},
            )
        ),
    )
    inst = install(world, admin, m, version="1.0.0", grant=["tasks:read"])
    pending = world.services.installs.upgrade(admin, inst.installation_id, UpgradeRequest(version="2.0.0"))
    # The current version keeps running with its grants until consent.
    assert (pending.version, pending.state, pending.granted) == ("1.0.0", "enabled", ["tasks:read"])
    assert pending.pending_upgrade is not None
    with pytest.raises(UpgradeAwaitsConsentError, match="consent"):
        world.services.installs.set_enabled(admin, inst.installation_id, True)
    [change] = pending.pending_upgrade.new_scopes
    assert (change.scope, change.note) == ("ai:complete", "to summarize tasks")
    assert "assistant" in change.description  # human words, not just the scope id
    with pytest.raises(ScopesNotGrantedError):
        world.services.installs.consent(admin, inst.installation_id, ["tasks:read"])
    done = world.services.installs.consent(admin, inst.installation_id, ["ai:complete"])
    assert (done.version, done.state, done.granted) == ("2.0.0", "enabled", ["ai:complete", "tasks:read"])
    assert done.pending_upgrade is None
    assert world.adapters.permissions.list(inst.installation_id) == ["ai:complete", "tasks:read"]


def test_keep_grants_runs_new_code_under_old_grants(world: World, pub: Caller, admin: Caller) -> None:
    _publish_versions(world, pub, "rolling", {"1.0.0": ["tasks:read"], "1.1.0": ["tasks:read", "http:fetch"]})
    inst = install(world, admin, "rolling", version="1.0.0", grant=["tasks:read"])
    up = world.services.installs.upgrade(admin, inst.installation_id, UpgradeRequest(keep_grants=True))
    assert (up.version, up.granted, up.run_under_old_grants) == ("1.1.0", ["tasks:read"], True)


def test_rollback_returns_to_the_previous_version(world: World, pub: Caller, admin: Caller) -> None:
    _publish_versions(world, pub, "roll-back", {"1.0.0": [], "1.1.0": []})
    inst = install(world, admin, "roll-back", version="1.0.0")
    with pytest.raises(ConflictError, match="no earlier version"):
        world.services.installs.rollback(admin, inst.installation_id)
    world.services.installs.upgrade(admin, inst.installation_id, UpgradeRequest())
    back = world.services.installs.rollback(admin, inst.installation_id)
    assert back.version == "1.0.0"
    assert [h["action"] for h in back.history] == ["install", "upgrade", "rollback"]
    world.services.marketplace.review(world.reviewer(), "roll-back", "1.1.0", "yank", ReviewDecision(reason="bad"))
    with pytest.raises(ConflictError, match="yanked"):
        world.services.installs.rollback(admin, inst.installation_id)  # back to 1.1.0 is not allowed now


def test_disable_and_enable(world: World, pub: Caller, admin: Caller) -> None:
    world.publish(pub, make_zip(manifest("toggle", "acme")))
    inst = install(world, admin, "toggle")
    off = world.services.installs.set_enabled(admin, inst.installation_id, False, "maintenance")
    assert (off.state, off.disabled_reason) == ("disabled", "maintenance")
    on = world.services.installs.set_enabled(admin, inst.installation_id, True)
    assert (on.state, on.disabled_reason) == ("enabled", None)
    assert [r.action for r in records(world, admin.workspace_id)][:2] == ["plugin.enable", "plugin.disable"]


# --- configuration ----------------------------------------------------------------------------

SECRET_SCHEMA = {
    "type": "object",
    "required": ["channel", "token"],
    "properties": {
        "channel": {"type": "string"},
        "token": {"type": "string", "x-plugyard-secret": True, "minLength": 8},
    },
    "additionalProperties": False,
}


def test_secret_config_fields_are_encrypted_and_never_returned(world: World, pub: Caller, admin: Caller) -> None:
    world.publish(pub, make_zip(manifest("secretive", "acme", config_schema=SECRET_SCHEMA)))
    inst = install(world, admin, "secretive", config={"channel": "#ops", "token": "s3cr3t-value"})
    assert inst.config == {"channel": "#ops"} and inst.secret_fields == ["token"]
    assert "s3cr3t-value" not in inst.model_dump_json()
    stored = world.adapters.installs.get_by_id(admin.workspace_id, inst.installation_id)
    assert stored is not None and stored.secret_config_ciphertext
    assert "s3cr3t-value" not in stored.secret_config_ciphertext
    assert world.services.installs.effective_config(stored) == {"channel": "#ops", "token": "s3cr3t-value"}
    # Updating without the secret keeps it; a bad value is refused with the field named.
    upd = world.services.installs.update_config(
        admin, inst.installation_id, UpdateConfigRequest(config={"channel": "#dev"})
    )
    assert world.services.installs.effective_config(upd)["token"] == "s3cr3t-value"
    with pytest.raises(InvalidConfigError) as err:
        world.services.installs.update_config(
            admin, inst.installation_id, UpdateConfigRequest(config={"channel": "#dev", "token": "short"})
        )
    assert err.value.extensions["errors"][0]["loc"] == "token"


# --- cache ------------------------------------------------------------------------------------


def test_cache_hits_and_is_invalidated_across_processes(world: World, pub: Caller, admin: Caller) -> None:
    # A second "process": its own services and cache over the same storage.
    other = build_services(world.services.settings, world.adapters)
    world.publish(pub, make_zip(manifest("cached-a", "acme")))
    for _ in range(3):
        other.marketplace.list_plugins(admin, query=None, category=None, limit=50, token=None)
    stats = other.marketplace.cache.stats
    assert (stats.misses, stats.hits) == (1, 2)
    world.publish(pub, make_zip(manifest("cached-b", "acme")))  # published through the first process
    ids = [
        p.plugin_id
        for p in other.marketplace.list_plugins(admin, query=None, category=None, limit=50, token=None).items
    ]
    assert "cached-b" in ids and other.marketplace.cache.stats.misses == 2


def test_listing_sorts_by_installs_and_recency(world: World, pub: Caller) -> None:
    for pid in ("s-one", "s-two", "s-three"):
        world.publish(pub, make_zip(manifest(pid, "acme")))
    for _ in range(2):
        install(world, world.caller(world.workspace()), "s-two")
    install(world, world.caller(world.workspace()), "s-three")
    world.services.marketplace.cache.invalidate()
    by_installs = world.services.marketplace.list_plugins(
        pub, query="s-", category=None, limit=10, token=None, sort="installs"
    )
    assert [p.plugin_id for p in by_installs.items] == ["s-two", "s-three", "s-one"]
    recent = world.services.marketplace.list_plugins(pub, query="s-", category=None, limit=2, token=None, sort="recent")
    assert len(recent.items) == 2 and recent.next_token
    rest = world.services.marketplace.list_plugins(
        pub, query="s-", category=None, limit=2, token=recent.next_token, sort="recent"
    )
    assert {p.plugin_id for p in recent.items + rest.items} == {"s-one", "s-two", "s-three"}


# --- audit chain ------------------------------------------------------------------------------


def test_audit_chain_verifies_and_detects_a_modified_or_missing_record(world: World, admin: Caller) -> None:
    for i in range(5):
        world.services.audit.record(admin.workspace_id, admin.actor, "test.action", f"t{i}")
    ok = world.services.audit.verify(admin)
    assert ok.ok and ok.checked >= 5
    items = world.adapters.audit.items  # type: ignore[attr-defined]
    mine = sorted((r for r in items if r.workspace_id == admin.workspace_id), key=lambda r: r.seq)
    tampered = mine[3]
    tampered.target = "something-else"  # an edit in storage, hash left as it was
    bad = world.services.audit.verify(admin)
    assert (bad.ok, bad.first_bad_seq) == (False, tampered.seq) and "modified" in (bad.reason or "")
    tampered.target = mine[3].target  # restore nothing: remove a record instead
    items.remove(mine[2])
    gone = world.services.audit.verify(admin)
    assert not gone.ok and gone.first_bad_seq == mine[3].seq


def test_audit_filters_by_time(world: World, admin: Caller) -> None:
    world.services.audit.record(admin.workspace_id, admin.actor, "a.b", "x")
    first = records(world, admin.workspace_id)[0]
    page = world.services.audit.list(admin, since=first.time, limit=50)
    assert any(r.seq == first.seq for r in page.items)
    assert world.services.audit.list(admin, until=first.time.replace(year=2000), limit=50).items == []


def test_uninstall_deletes_the_installations_plugin_data_only(world: World, pub: Caller, admin: Caller) -> None:
    from chalicelib.domain.iam import plugin_data_partition

    world.publish(pub, make_zip(manifest("forgetful", "acme", permissions=["storage:write"])))
    mine = install(world, admin, "forgetful", grant=["storage:write"])
    other_ws = world.caller(world.workspace())
    theirs = install(world, other_ws, "forgetful", grant=["storage:write"])
    data = world.adapters.plugin_data
    for inst in (mine, theirs):
        data.put(plugin_data_partition("forgetful", inst.installation_id), "k", {"v": 1})
    world.services.installs.uninstall(admin, mine.installation_id)
    assert data.get(plugin_data_partition("forgetful", mine.installation_id), "k") is None
    assert data.get(plugin_data_partition("forgetful", theirs.installation_id), "k") == {"v": 1}
