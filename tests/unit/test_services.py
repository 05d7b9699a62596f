"""Use cases on in-memory fakes: outcomes a user sees (state, errors, audit), not which calls were made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import make_zip, manifest

from chalicelib.api.problems import status_of
from chalicelib.domain.errors import (
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InstallationNotFoundError,
    InvalidConfigError,
    InvalidManifestError,
    InvalidRequestError,
    PluginNotFoundError,
    PublisherTakenError,
    ScopesNotGrantedError,
    UnauthenticatedError,
    UploadNotFoundError,
    ValidationFailedError,
    VersionNotFoundError,
    WebhookNotFoundError,
)
from chalicelib.domain.models import (
    Caller,
    CreateApiKeyRequest,
    InstallRequest,
    RegisterWebhookRequest,
    SubmitVersionRequest,
)
from chalicelib.domain.netguard import UnsafeUrlError
from chalicelib.domain.permissions import Role
from chalicelib.services.marketplace import artifact_key
from unit.conftest import World

SLACKISH = {
    "permissions": ["http:fetch", "tasks:read"],
    "config_schema": {
        "type": "object",
        "required": ["channel"],
        "properties": {"channel": {"type": "string", "pattern": "^#[a-z]+$"}},
        "additionalProperties": False,
    },
}


@pytest.fixture
def pub(world: World) -> Caller:
    return world.caller(world.workspace(publisher="acme"))


def audit(world: World, workspace_id: str, action: str | None = None) -> list[Any]:
    items, _ = world.adapters.audit.query(workspace_id, action=action, actor=None, target=None, limit=100, token=None)
    return items


# --- auth -------------------------------------------------------------------------------


def test_keys_are_stored_hashed_and_authenticate(world: World) -> None:
    ws = world.workspace()
    created = world.services.auth.issue_key(ws, Role.MEMBER, "m", created_by="operator")
    assert created.key.startswith("pyk_")
    stored = list(world.adapters.keys.items.values())  # type: ignore[attr-defined]
    assert all(created.key not in k.model_dump_json() for k in stored)
    caller = world.services.auth.authenticate(f"Bearer {created.key}")
    assert (caller.workspace_id, caller.role) == (ws, Role.MEMBER)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer pyk_unknown", "bearer"])
def test_missing_or_invalid_bearer_is_unauthenticated(world: World, header: str | None) -> None:
    with pytest.raises(UnauthenticatedError):
        world.services.auth.authenticate(header)


def test_revoked_key_stops_working_and_is_audited(world: World) -> None:
    ws = world.workspace()
    admin = world.caller(ws)
    made = world.services.auth.create_key(admin, CreateApiKeyRequest(name="ci", role=Role.MEMBER))
    assert [k.key_id for k in world.services.auth.list_keys(admin)].count(made.key_id) == 1
    world.services.auth.revoke_key(admin, made.key_id)
    with pytest.raises(UnauthenticatedError):
        world.services.auth.authenticate(f"Bearer {made.key}")
    assert [r.target for r in audit(world, ws, "api_key.revoke")] == [made.key_id]
    with pytest.raises(Exception) as exc:
        world.services.auth.revoke_key(admin, made.key_id)
    assert status_of(exc.value) == 404  # type: ignore[arg-type]


def test_workspace_ids_are_unique(world: World) -> None:
    ws = world.workspace()
    with pytest.raises(ConflictError):
        world.services.auth.create_workspace(ws, "again")


# --- role matrix ------------------------------------------------------------------------

ACTIONS: dict[str, Callable[[World, Caller], Any]] = {
    "list plugins": lambda w, c: w.services.marketplace.list_plugins(
        c, query=None, category=None, limit=10, token=None
    ),
    "request upload": lambda w, c: w.services.marketplace.request_upload(c),
    "install": lambda w, c: w.services.installs.install(c, InstallRequest(plugin_id="nope")),
    "list installations": lambda w, c: w.services.installs.list(c),
    "uninstall": lambda w, c: w.services.installs.uninstall(c, "01J00000000000000000000000"),
    "register webhook": lambda w, c: w.services.webhooks.register(
        c, RegisterWebhookRequest(url="https://hooks.example.test/x", event_types=["task.completed"])
    ),
    "list webhooks": lambda w, c: w.services.webhooks.list(c),
    "read audit": lambda w, c: w.services.audit.list(c),
    "create key": lambda w, c: w.services.auth.create_key(c, CreateApiKeyRequest(name="k", role=Role.MEMBER)),
    "list keys": lambda w, c: w.services.auth.list_keys(c),
}
ALLOWED = {
    Role.ADMIN: set(ACTIONS),
    Role.MEMBER: {"list plugins", "list installations", "list webhooks"},
    Role.PUBLISHER: {"list plugins", "request upload"},
    Role.REVIEWER: {"list plugins", "read audit"},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_matrix(world: World, role: Role, action: str) -> None:
    caller = world.caller(world.workspace(publisher="acme"), role)
    try:
        ACTIONS[action](world, caller)
    except ForbiddenError:
        assert action not in ALLOWED[role], f"{role.value} should be allowed to {action}"
    except (PluginNotFoundError, InstallationNotFoundError):
        assert action in ALLOWED[role]  # got past the role check
    else:
        assert action in ALLOWED[role], f"{role.value} must not {action}"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.PUBLISHER, Role.REVIEWER])
def test_denied_mutations_are_audited_as_denied(world: World, role: Role) -> None:
    ws = world.workspace()
    caller = world.caller(ws, role)
    with pytest.raises(ForbiddenError):
        world.services.installs.install(caller, InstallRequest(plugin_id="whatever"))
    [rec] = audit(world, ws, "plugin.install")
    assert (rec.outcome, rec.actor, rec.target, rec.detail["role"]) == ("denied", caller.actor, "whatever", role.value)


# --- publishing -------------------------------------------------------------------------


def test_publish_stores_artifact_by_digest_and_lists_plugin(world: World, pub: Caller) -> None:
    detail = world.publish_manifest(pub, "alpha-one", categories=["ai"])
    assert (detail.plugin_id, detail.latest_version, [v.version for v in detail.versions]) == (
        "alpha-one",
        "1.0.0",
        ["1.0.0"],
    )
    sha = detail.versions[0].artifact_sha256
    assert world.adapters.artifacts.exists(artifact_key(sha))
    assert not any(k.startswith("uploads/") for k in world.adapters.artifacts.objects)  # type: ignore[attr-defined]
    [rec] = audit(world, pub.workspace_id, "plugin.version.publish")
    assert (rec.outcome, rec.target, rec.detail["sha256"]) == ("success", "alpha-one@1.0.0", sha)


def test_versions_are_listed_newest_first_by_semver(world: World, pub: Caller) -> None:
    for v in ["1.2.0", "1.10.0", "1.9.1", "2.0.0-rc.1"]:
        world.publish_manifest(pub, "multi-ver", v)
    detail = world.services.marketplace.get_plugin(pub, "multi-ver")
    assert [v.version for v in detail.versions] == ["2.0.0-rc.1", "1.10.0", "1.9.1", "1.2.0"]
    # Pre-releases are listed but never "latest": an install without a version gets the newest stable one.
    assert detail.latest_version == "1.10.0"


def test_latest_skips_versions_the_host_does_not_support(world: World, pub: Caller) -> None:
    world.publish_manifest(pub, "host-bound", "1.0.0")
    world.publish_manifest(pub, "host-bound", "2.0.0", host_versions=">=9.0.0")
    assert world.services.marketplace.get_plugin(pub, "host-bound").latest_version == "1.0.0"
    with pytest.raises(VersionNotFoundError):
        world.services.installs.install(pub, InstallRequest(plugin_id="host-bound", version="2.0.0"))


def test_publish_refusals(world: World, pub: Caller) -> None:
    world.publish_manifest(pub, "taken-id")
    with pytest.raises(ConflictError, match="already published"):
        world.publish_manifest(pub, "taken-id")
    same = make_zip(manifest("dup-digest", "acme"))
    world.publish(pub, same)
    with pytest.raises(ConflictError, match="already published"):
        world.publish(pub, same)  # the same bytes name the same id@version: refused as a version conflict
    with pytest.raises(ForbiddenError, match="publishes as"):
        world.publish(pub, make_zip(manifest("x-plugin", "someone-else")))
    with pytest.raises(PublisherTakenError):  # a publisher id has one owner workspace, from its creation on
        world.workspace(publisher="acme")
    other = world.caller(world.workspace(publisher="acme-two"))
    with pytest.raises(ForbiddenError, match="another publisher"):
        world.publish_manifest(other, "taken-id", "9.0.0")
    with pytest.raises(InvalidManifestError):
        world.publish(pub, make_zip(manifest("bad-man", "acme", version="x")))
    failed = [r for r in audit(world, pub.workspace_id, "plugin.version.publish") if r.outcome == "failed"]
    assert {r.detail["reason"] for r in failed} >= {"conflict", "forbidden", "invalid-manifest"}


def test_same_digest_under_another_version_is_a_conflict(world: World, pub: Caller) -> None:
    # Identical bytes carry an identical manifest, so the digest check only bites when a version record
    # with that digest exists under another id/version (e.g. imported or migrated): simulate that record.
    data = make_zip(manifest("digest-a", "acme"))
    world.adapters.versions.create(_version_stub(world, data))
    with pytest.raises(ConflictError, match=r"already published as digest-a@0\.0\.1"):
        world.publish(pub, data)


def _version_stub(world: World, data: bytes) -> Any:
    import hashlib
    from datetime import UTC, datetime

    from chalicelib.domain.manifest import Manifest
    from chalicelib.domain.models import PluginVersion

    sha = hashlib.sha256(data).hexdigest()
    return PluginVersion(
        plugin_id="digest-a",
        version="0.0.1",
        manifest=Manifest.model_validate(manifest("digest-a", "acme", "0.0.1")),
        artifact_sha256=sha,
        artifact_key=artifact_key(sha),
        size_bytes=len(data),
        published_at=datetime.now(UTC),
        published_by="x",
    )


def test_non_publisher_workspace_cannot_publish(world: World) -> None:
    caller = world.caller(world.workspace(publisher=None))
    with pytest.raises(ForbiddenError, match="not registered as a publisher"):
        world.publish(caller, make_zip(manifest("nopub", "acme")))


def test_upload_of_another_workspace_is_not_found(world: World, pub: Caller) -> None:
    ticket = world.services.marketplace.request_upload(pub)
    world.adapters.artifacts.put(
        f"uploads/{pub.workspace_id}/{ticket.upload_id}.zip", make_zip(manifest("u-x", "acme"))
    )
    other = world.caller(world.workspace(publisher="acme-two"))
    with pytest.raises(UploadNotFoundError):
        world.services.marketplace.submit_version(
            other, SubmitVersionRequest(upload_id=ticket.upload_id, signature="AAAA")
        )


def test_oversize_artifact_is_refused(world_factory: Callable[..., World]) -> None:
    w = world_factory(max_artifact_bytes=100)
    caller = w.caller(w.workspace(publisher="acme"))
    with pytest.raises(ValidationFailedError, match="limit is 100"):
        w.publish_manifest(caller, "big-one")


def test_listing_filters_and_validates(world: World, pub: Caller) -> None:
    world.publish_manifest(pub, "find-me", description="Counts Zebras", categories=["analytics"])
    world.publish_manifest(pub, "other-one", categories=["ai"])
    m = world.services.marketplace
    ids = lambda page: [p.plugin_id for p in page.items]  # noqa: E731
    assert ids(m.list_plugins(pub, query="  ZEBRA ", category=None, limit=10, token=None)) == ["find-me"]
    assert ids(m.list_plugins(pub, query=None, category="ai", limit=10, token=None)) == ["other-one"]
    assert ids(m.list_plugins(pub, query="zebra", category="ai", limit=10, token=None)) == []
    for bad in [0, 101]:
        with pytest.raises(InvalidRequestError):
            m.list_plugins(pub, query=None, category=None, limit=bad, token=None)
    with pytest.raises(InvalidRequestError, match="Unknown category"):
        m.list_plugins(pub, query=None, category="games", limit=10, token=None)
    with pytest.raises(PluginNotFoundError):
        m.get_plugin(pub, "does-not-exist")


# --- installing -------------------------------------------------------------------------


@pytest.fixture
def slackish(world: World, pub: Caller) -> str:
    world.publish_manifest(pub, "slackish", "1.0.0", **SLACKISH)
    world.publish_manifest(pub, "slackish", "1.1.0", **SLACKISH)
    return "slackish"


def test_install_latest_grants_scopes_and_counts(world: World, pub: Caller, slackish: str) -> None:
    inst = world.services.installs.install(
        pub,
        InstallRequest(
            plugin_id=slackish, grant=["tasks:read", "http:fetch", "ai:complete"], config={"channel": "#ops"}
        ),
    )
    assert (inst.version, inst.state, inst.granted) == ("1.1.0", "enabled", ["http:fetch", "tasks:read"])
    assert world.adapters.permissions.list(inst.installation_id) == ["http:fetch", "tasks:read"]
    assert world.services.marketplace.get_plugin(pub, slackish).install_count == 1
    [rec] = [r for r in audit(world, pub.workspace_id, "plugin.install") if r.outcome == "success"]
    assert rec.target == inst.installation_id and rec.detail["version"] == "1.1.0"
    with pytest.raises(ConflictError):
        world.services.installs.install(
            pub, InstallRequest(plugin_id=slackish, grant=SLACKISH["permissions"], config={"channel": "#a"})
        )
    world.services.installs.uninstall(pub, inst.installation_id)
    assert world.adapters.permissions.list(inst.installation_id) == []
    assert world.services.marketplace.get_plugin(pub, slackish).install_count == 0
    with pytest.raises(InstallationNotFoundError):
        world.services.installs.get(pub, inst.installation_id)


def test_missing_scopes_are_listed_and_audited_as_denied(world: World, pub: Caller, slackish: str) -> None:
    with pytest.raises(ScopesNotGrantedError) as exc:
        world.services.installs.install(
            pub, InstallRequest(plugin_id=slackish, grant=["tasks:read"], config={"channel": "#a"})
        )
    assert status_of(exc.value) == 422 and exc.value.extensions["missing_scopes"] == ["http:fetch"]
    [rec] = audit(world, pub.workspace_id, "plugin.install")
    assert (rec.outcome, rec.target, rec.detail["reason"]) == ("denied", "slackish@1.1.0", "scopes-not-granted")


@pytest.mark.parametrize(
    ("config", "locs"),
    [
        (None, ["(root)"]),
        ({"channel": "no-hash"}, ["channel"]),
        ({"channel": "#ok", "extra": 1}, ["(root)"]),
        ({"channel": 5}, ["channel"]),
    ],
)
def test_invalid_config_lists_every_problem(
    world: World, pub: Caller, slackish: str, config: Any, locs: list[str]
) -> None:
    with pytest.raises(InvalidConfigError) as exc:
        world.services.installs.install(
            pub, InstallRequest(plugin_id=slackish, grant=SLACKISH["permissions"], config=config)
        )
    assert [e["loc"] for e in exc.value.extensions["errors"]] == locs
    assert audit(world, pub.workspace_id, "plugin.install")[0].outcome == "failed"


def test_install_refusals(world: World, pub: Caller, slackish: str) -> None:
    ins = world.services.installs
    with pytest.raises(PluginNotFoundError):
        ins.install(pub, InstallRequest(plugin_id="ghost"))
    with pytest.raises(VersionNotFoundError):
        ins.install(pub, InstallRequest(plugin_id=slackish, version="9.9.9"))
    with pytest.raises(ValidationFailedError, match="Unknown scopes"):
        ins.install(pub, InstallRequest(plugin_id=slackish, grant=["http:fetch", "tasks:read", "root"]))


def test_install_of_an_exact_older_version(world: World, pub: Caller, slackish: str) -> None:
    inst = world.services.installs.install(
        pub,
        InstallRequest(plugin_id=slackish, version="1.0.0", grant=SLACKISH["permissions"], config={"channel": "#a"}),
    )
    assert inst.version == "1.0.0"


def test_idempotency_key_replays_and_refuses_reuse(world: World, pub: Caller, slackish: str) -> None:
    req = InstallRequest(plugin_id=slackish, grant=SLACKISH["permissions"], config={"channel": "#a"})
    first = world.services.installs.install(pub, req, "key-1")
    again = world.services.installs.install(pub, req, "key-1")
    assert again == first
    page = world.services.installs.list(pub)
    assert [i.installation_id for i in page.items] == [first.installation_id]
    with pytest.raises(IdempotencyKeyReusedError):
        world.services.installs.install(pub, req.model_copy(update={"config": {"channel": "#b"}}), "key-1")
    # The same key in another workspace is another request.
    other = world.caller(world.workspace())
    with pytest.raises(PluginNotFoundError):
        world.services.installs.install(other, InstallRequest(plugin_id="ghost"), "key-1")


def test_installations_are_invisible_across_workspaces(world: World, pub: Caller, slackish: str) -> None:
    inst = world.services.installs.install(
        pub, InstallRequest(plugin_id=slackish, grant=SLACKISH["permissions"], config={"channel": "#a"})
    )
    other = world.caller(world.workspace())
    assert world.services.installs.list(other).items == []
    with pytest.raises(InstallationNotFoundError):
        world.services.installs.get(other, inst.installation_id)
    with pytest.raises(InstallationNotFoundError):
        world.services.installs.uninstall(other, inst.installation_id)
    assert world.services.installs.get(pub, inst.installation_id) == inst


# --- webhooks ---------------------------------------------------------------------------


def register(world: World, caller: Caller, url: str = "https://hooks.example.test/x", **kw: Any) -> Any:
    return world.services.webhooks.register(
        caller, RegisterWebhookRequest(url=url, event_types=kw.pop("event_types", ["task.completed"]), **kw)
    )


def test_webhook_secret_is_shown_once_and_stored_encrypted(world: World, pub: Caller) -> None:
    created = register(world, pub, event_types=["task.failed", "task.completed", "task.failed"])
    assert created.secret.startswith("whsec_") and created.event_types == ["task.completed", "task.failed"]
    stored = world.adapters.webhooks.get(pub.workspace_id, created.webhook_id)
    assert stored is not None and created.secret not in stored.model_dump_json()
    assert world.services.webhooks.signing_secret(stored) == created.secret
    assert "secret" not in world.services.webhooks.get(pub, created.webhook_id).model_dump()
    assert all("secret" not in v.model_dump() for v in world.services.webhooks.list(pub).items)
    [rec] = audit(world, pub.workspace_id, "webhook.register")
    assert (rec.outcome, rec.target) == ("success", created.webhook_id)
    assert created.secret not in rec.model_dump_json()


def test_each_webhook_gets_its_own_secret(world: World, pub: Caller) -> None:
    assert register(world, pub).secret != register(world, pub).secret


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9/x", "http://internal.example.test/", "http://metadata.example.test/", "https://nowhere.test/"],
)
def test_ssrf_targets_are_refused_and_audited(world: World, pub: Caller, url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        register(world, pub, url)
    [rec] = audit(world, pub.workspace_id, "webhook.register")
    assert (rec.outcome, rec.detail["reason"]) == ("denied", "unsafe-url")
    assert world.services.webhooks.list(pub).items == []


def test_allow_private_admits_loopback_for_local_development(world_factory: Callable[..., World]) -> None:
    w = world_factory(webhooks_allow_private=True)
    caller = w.caller(w.workspace())
    assert register(w, caller, "http://localhost:9/x").url == "http://localhost:9/x"


def test_unknown_event_types_are_refused(world: World, pub: Caller) -> None:
    with pytest.raises(ValidationFailedError) as exc:
        register(world, pub, event_types=["task.completed", "task.teleported"])
    assert exc.value.extensions["unknown_event_types"] == ["task.teleported"]


def test_webhook_delete_and_isolation(world: World, pub: Caller) -> None:
    hook = register(world, pub)
    other = world.caller(world.workspace())
    for fn in (world.services.webhooks.get, world.services.webhooks.delete):
        with pytest.raises(WebhookNotFoundError):
            fn(other, hook.webhook_id)
    world.services.webhooks.delete(pub, hook.webhook_id)
    with pytest.raises(WebhookNotFoundError):
        world.services.webhooks.get(pub, hook.webhook_id)
    assert [r.target for r in audit(world, pub.workspace_id, "webhook.delete")] == [hook.webhook_id]


def test_secret_cannot_be_decrypted_under_another_webhook(world: World, pub: Caller) -> None:
    a, b = register(world, pub), register(world, pub)
    stored_a = world.adapters.webhooks.get(pub.workspace_id, a.webhook_id)
    assert stored_a is not None
    with pytest.raises(ValueError):
        world.services.webhooks.signing_secret(stored_a.model_copy(update={"webhook_id": b.webhook_id}))


# --- audit ------------------------------------------------------------------------------


def test_audit_is_newest_first_filterable_and_paged(world: World, pub: Caller, slackish: str) -> None:
    hook = register(world, pub)
    world.services.webhooks.delete(pub, hook.webhook_id)
    page = world.services.audit.list(pub)
    seqs = [r.seq for r in page.items]
    assert seqs == sorted(seqs, reverse=True)
    assert page.items[0].action == "webhook.delete"
    assert {r.action for r in world.services.audit.list(pub, action="webhook.register").items} == {"webhook.register"}
    assert world.services.audit.list(pub, target=hook.webhook_id, actor=pub.actor).items[0].action == "webhook.delete"
    first = world.services.audit.list(pub, limit=2)
    assert len(first.items) == 2 and first.next_token
    rest = world.services.audit.list(pub, limit=100, token=first.next_token)
    assert [r.seq for r in first.items + rest.items] == seqs
    with pytest.raises(InvalidRequestError):
        world.services.audit.list(pub, token="garbage!")
