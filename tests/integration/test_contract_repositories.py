"""One contract, two adapters: the in-memory fakes and the PynamoDB repositories on the moto server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import manifest

from chalicelib.adapters import dynamo, memory
from chalicelib.domain.errors import ConflictError, InvalidRequestError
from chalicelib.domain.manifest import Manifest
from chalicelib.domain.models import ApiKey, AuditRecord, Installation, Plugin, PluginVersion, Webhook, Workspace
from chalicelib.domain.permissions import Role

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Repos:
    workspaces: Any
    keys: Any
    plugins: Any
    versions: Any
    installs: Any
    permissions: Any
    webhooks: Any
    audit: Any
    generations: Any  # the counters plugins.get_at_generation reads


@pytest.fixture(params=["memory", "dynamo"])
def repos(request: pytest.FixtureRequest) -> Repos:
    if request.param == "memory":
        m = memory
        generations = m.InMemoryGenerationStore()
        return Repos(
            m.InMemoryWorkspaceRepository(),
            m.InMemoryApiKeyRepository(),
            m.InMemoryPluginRepository(generations),
            m.InMemoryVersionRepository(),
            m.InMemoryInstallationRepository(),
            m.InMemoryPermissionRepository(),
            m.InMemoryWebhookRepository(),
            m.InMemoryAuditRepository(),
            generations,
        )
    operator = request.getfixturevalue("operator")
    dynamo.bind_tables(operator.settings)
    d = dynamo
    return Repos(
        d.DynamoWorkspaceRepository(),
        d.DynamoApiKeyRepository(),
        d.DynamoPluginRepository(),
        d.DynamoVersionRepository(),
        d.DynamoInstallationRepository(),
        d.DynamoPermissionRepository(),
        d.DynamoWebhookRepository(),
        d.DynamoAuditRepository(),
        d.DynamoGenerationStore(),
    )


def u(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ulid_like(i: int) -> str:
    return f"01J{i:023d}"


def seq_of(i: int) -> str:
    """The audit chain's i-th position (0-based): zero-padded counters from 1."""
    return str(i + 1).zfill(12)


def plugin(pid: str, **kw: Any) -> Plugin:
    return Plugin(
        plugin_id=pid,
        publisher="acme",
        owner_workspace_id="ws",
        name=kw.pop("name", pid),
        created_at=NOW,
        updated_at=NOW,
        latest_version="1.0.0",
        **kw,
    )


def version(pid: str, v: str, sha: str) -> PluginVersion:
    return PluginVersion(
        plugin_id=pid,
        version=v,
        manifest=Manifest.model_validate(manifest(pid, "acme", v)),
        artifact_sha256=sha,
        artifact_key=f"artifacts/sha256/{sha}.zip",
        size_bytes=10,
        published_at=NOW,
        published_by="key:x",
    )


def installation(ws: str, pid: str) -> Installation:
    return Installation(
        installation_id=u("inst"),
        workspace_id=ws,
        plugin_id=pid,
        version="1.0.0",
        granted=["tasks:read"],
        installed_at=NOW,
        installed_by="key:x",
        updated_at=NOW,
    )


def list_versions(repos: Repos, plugin_id: str) -> list[PluginVersion]:
    # The port's method is being renamed list → list_versions; accept either while that lands.
    fn = getattr(repos.versions, "list_versions", None) or repos.versions.list
    return list(fn(plugin_id))


def walk(list_page: Any, limit: int) -> list[Any]:
    """Every item of a listing, page by page; at most one page may be empty (the last)."""
    out: list[Any] = []
    token = None
    for _ in range(100):
        items, token = list_page(limit=limit, token=token)
        assert len(items) <= limit
        out.extend(items)
        if token is None:
            return out
        assert items, "a page that is not the last must hold items"
    raise AssertionError("pagination never ended")


# --- workspaces and keys ----------------------------------------------------------------


def test_workspaces(repos: Repos) -> None:
    ws = Workspace(workspace_id=u("ws"), name="W", publisher_id="acme", created_at=NOW)
    assert repos.workspaces.get(ws.workspace_id) is None
    repos.workspaces.put(ws)
    assert repos.workspaces.get(ws.workspace_id) == ws


def test_api_keys(repos: Repos) -> None:
    ws = u("ws")
    keys = [
        ApiKey(
            key_id=ulid_like(i),
            key_hash=u("h"),
            workspace_id=ws,
            role=Role.MEMBER,
            name=f"k{i}",
            created_at=NOW,
            created_by="op",
        )
        for i in (2, 1)
    ]
    for k in keys:
        repos.keys.put(k)
    repos.keys.put(keys[0].model_copy(update={"workspace_id": u("other"), "key_hash": u("h")}))
    assert repos.keys.get_by_hash(keys[0].key_hash) == keys[0]
    assert repos.keys.get_by_hash("missing") is None
    assert [k.key_id for k in repos.keys.list_for_workspace(ws)] == [ulid_like(1), ulid_like(2)]
    repos.keys.delete(keys[0])
    assert repos.keys.get_by_hash(keys[0].key_hash) is None
    assert [k.key_id for k in repos.keys.list_for_workspace(ws)] == [ulid_like(1)]


# --- plugins and versions ---------------------------------------------------------------


def test_plugin_get_put_and_install_counter(repos: Repos) -> None:
    pid = u("plg")
    assert repos.plugins.get(pid) is None
    repos.plugins.put(plugin(pid, categories=["ai"]))
    repos.plugins.add_installs(pid, 1)
    repos.plugins.add_installs(pid, 1)
    repos.plugins.add_installs(pid, -1)
    # A later put (new version published) must not reset the counter.
    repos.plugins.put(plugin(pid, categories=[], description="v2"))
    got = repos.plugins.get(pid)
    assert (got.install_count, got.description, got.categories) == (1, "v2", [])


def test_a_plugin_and_a_cache_generation_are_read_together(repos: Repos) -> None:
    pid, name = u("plg"), u("gen")
    assert repos.plugins.get_at_generation(pid, name) == (None, 0)  # neither stored yet
    repos.plugins.put(plugin(pid))
    repos.plugins.add_installs(pid, 2)
    repos.generations.bump(name)
    repos.generations.bump(name)
    got, generation = repos.plugins.get_at_generation(pid, name)
    assert got is not None and (got.plugin_id, got.install_count, generation) == (pid, 2, 2)
    assert repos.plugins.get_at_generation(u("none"), name) == (None, 2)


def test_plugin_search_by_text_and_category_with_pages(repos: Repos) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [u("srch") for _ in range(7)]
    for i, pid in enumerate(ids):
        repos.plugins.put(plugin(pid, description=f"marker{tag} number {i}", categories=["ai"] if i % 2 else ["other"]))
    repos.plugins.put(plugin(u("srch"), description="unrelated"))

    def page(*, limit: int, token: str | None, category: str | None = None) -> Any:
        return repos.plugins.search(query=f"marker{tag}", category=category, limit=limit, token=token)

    found = walk(page, 3)
    assert sorted(p.plugin_id for p in found) == sorted(ids)
    ai = walk(lambda **kw: page(category="ai", **kw), 2)
    assert sorted(p.plugin_id for p in ai) == sorted(ids[1::2])
    assert repos.plugins.search(query=f"marker{tag}", category="security", limit=5, token=None) == ([], None)
    name_hit = repos.plugins.search(query=ids[3], category=None, limit=5, token=None)[0]
    assert [p.plugin_id for p in name_hit] == [ids[3]]


def test_search_refuses_a_tampered_token(repos: Repos) -> None:
    with pytest.raises(InvalidRequestError):
        repos.plugins.search(query=None, category=None, limit=5, token="garbage!")
    # A well-formed token naming keys the table does not have ({"nope": "1"}) is refused by the fake;
    # moto does not refuse it (real DynamoDB answers ValidationException): see the HTTP test and report.


def test_versions_are_immutable_and_found_by_digest(repos: Repos) -> None:
    pid, sha = u("ver"), uuid.uuid4().hex * 2
    assert repos.versions.get(pid, "1.0.0") is None and list_versions(repos, pid) == []
    repos.versions.create(version(pid, "1.0.0", sha))
    repos.versions.create(version(pid, "1.1.0", uuid.uuid4().hex * 2))
    with pytest.raises(ConflictError):
        repos.versions.create(version(pid, "1.0.0", "other"))
    assert repos.versions.get(pid, "1.0.0").artifact_sha256 == sha
    assert sorted(v.version for v in list_versions(repos, pid)) == ["1.0.0", "1.1.0"]
    assert [(v.plugin_id, v.version) for v in repos.versions.find_by_digest(sha)] == [(pid, "1.0.0")]
    assert repos.versions.find_by_digest("0" * 64) == []


def test_a_development_version_is_replaced_in_place_and_deleted(repos: Repos) -> None:
    pid, first, second = u("dev"), uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    dev = version(pid, "0.1.0", first).model_copy(update={"version": "dev-ws1", "state": "development"})
    repos.versions.put_development(dev)
    repos.versions.put_development(dev.model_copy(update={"artifact_sha256": second}))
    assert repos.versions.get(pid, "dev-ws1").artifact_sha256 == second
    assert repos.versions.find_by_digest(first) == []
    with pytest.raises(ValueError):  # a published version is immutable: never replaced this way
        repos.versions.put_development(version(pid, "1.0.0", first))
    repos.versions.delete(pid, "dev-ws1")
    assert repos.versions.get(pid, "dev-ws1") is None and list_versions(repos, pid) == []


# --- installations and permissions ------------------------------------------------------


def test_installations(repos: Repos) -> None:
    ws, other = u("ws"), u("ws")
    made = [installation(ws, f"p-{i}") for i in range(5)]
    for inst in made:
        repos.installs.create(inst)
    foreign = installation(other, "p-0")
    repos.installs.create(foreign)
    with pytest.raises(ConflictError):
        repos.installs.create(installation(ws, "p-1"))
    assert repos.installs.get(ws, "p-2") == made[2]
    assert repos.installs.get(ws, "nope") is None
    assert repos.installs.get_by_id(ws, made[3].installation_id) == made[3]
    assert repos.installs.get_by_id(ws, foreign.installation_id) is None  # never across workspaces
    listed = walk(lambda **kw: repos.installs.list(ws, **kw), 2)
    assert [i.plugin_id for i in listed] == [f"p-{i}" for i in range(5)]
    repos.installs.put(made[0].model_copy(update={"state": "disabled"}))
    assert repos.installs.get(ws, "p-0").state == "disabled"
    repos.installs.delete(made[1])
    assert repos.installs.get(ws, "p-1") is None and repos.installs.get_by_id(ws, made[1].installation_id) is None
    assert len(walk(lambda **kw: repos.installs.list(ws, **kw), 10)) == 4
    with pytest.raises(InvalidRequestError):
        repos.installs.list(ws, limit=2, token="%%%")


def test_permissions_grant_list_revoke(repos: Repos) -> None:
    a, b = u("inst"), u("inst")
    assert repos.permissions.list(a) == []
    repos.permissions.grant(a, ["tasks:read", "ai:complete"], by="key:x", version="1.0.0", at=NOW)
    repos.permissions.grant(a, ["tasks:read", "storage:read"], by="key:x", version="1.1.0", at=NOW)
    repos.permissions.grant(b, ["http:fetch"], by="key:x", version="1.0.0", at=NOW)
    repos.permissions.grant(b, [], by="key:x", version="1.0.0", at=NOW)
    assert repos.permissions.list(a) == ["ai:complete", "storage:read", "tasks:read"]
    repos.permissions.revoke_all(a)
    repos.permissions.revoke_all(u("never-granted"))
    assert repos.permissions.list(a) == [] and repos.permissions.list(b) == ["http:fetch"]


# --- webhooks and audit -----------------------------------------------------------------


def test_webhooks(repos: Repos) -> None:
    ws = u("ws")
    hooks = [
        Webhook(
            webhook_id=ulid_like(i),
            workspace_id=ws,
            url=f"https://h{i}.example/",
            event_types=["task.failed"],
            secret_ciphertext="c",
            created_at=NOW,
            created_by="key:x",
        )
        for i in range(5)
    ]
    for h in hooks:
        repos.webhooks.put(h)
    assert repos.webhooks.get(ws, ulid_like(2)) == hooks[2]
    assert repos.webhooks.get(u("ws"), ulid_like(2)) is None
    assert walk(lambda **kw: repos.webhooks.list(ws, **kw), 2) == hooks
    repos.webhooks.delete(ws, ulid_like(0))
    assert repos.webhooks.get(ws, ulid_like(0)) is None
    assert repos.webhooks.list(u("ws"), limit=10, token=None) == ([], None)


def hammer(threads: int, times: int, fn: Callable[[int], None]) -> None:
    """Run fn(i) ``times`` times in each of ``threads`` threads at once; any exception fails the test."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run() -> None:
        start.wait()
        for i in range(times):
            try:
                fn(i)
            except BaseException as exc:  # surfaced below, never swallowed
                errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors


def test_webhook_failure_streak_is_counted_atomically_and_survives_edits(repos: Repos) -> None:
    ws = u("ws")
    hook = Webhook(
        webhook_id=ulid_like(1),
        workspace_id=ws,
        url="https://h.example/",
        event_types=["task.failed"],
        secret_ciphertext="c",
        created_at=NOW,
        created_by="key:x",
    )
    repos.webhooks.put(hook)

    def fail_or_edit(i: int) -> None:
        repos.webhooks.record_failure(ws, hook.webhook_id, NOW + timedelta(seconds=i))
        if i % 3 == 0:  # an edit from a stale copy (rotation, rename) must not reset the streak
            repos.webhooks.put(hook.model_copy(update={"description": f"edit {i}"}))

    hammer(8, 10, fail_or_edit)
    now = repos.webhooks.get(ws, hook.webhook_id)
    assert now is not None and now.failed_attempts == 80 and now.failing_since == NOW
    assert now.description.startswith("edit")
    repos.webhooks.reset_failures(ws, hook.webhook_id)
    reset = repos.webhooks.get(ws, hook.webhook_id)
    assert reset is not None and (reset.failed_attempts, reset.failing_since) == (0, None)
    repos.webhooks.delete(ws, hook.webhook_id)
    assert repos.webhooks.record_failure(ws, hook.webhook_id, NOW) is None  # not resurrected as a bare counter
    assert repos.webhooks.get(ws, hook.webhook_id) is None


def test_install_counts_are_atomic_and_survive_plugin_updates(repos: Repos) -> None:
    pid = u("counted")
    repos.plugins.put(plugin(pid))

    def install_or_edit(i: int) -> None:
        repos.plugins.add_installs(pid, 1)
        if i % 3 == 0:
            repos.plugins.put(plugin(pid, description=f"edit {i}"))

    hammer(8, 10, install_or_edit)
    got = repos.plugins.get(pid)
    assert got is not None and got.install_count == 80


def test_audit_newest_first_with_filters_and_pages(repos: Repos) -> None:
    ws = u("ws")
    recs = [
        AuditRecord(
            workspace_id=ws,
            seq=seq_of(i),
            time=NOW + timedelta(seconds=i),
            actor="key:a" if i % 2 else "key:b",
            action="plugin.install" if i < 6 else "webhook.register",
            target=f"t{i % 3}",
            outcome="success",
        )
        for i in range(9)
    ]
    for r in recs:
        repos.audit.append(r)
    repos.audit.append(recs[0].model_copy(update={"workspace_id": u("ws")}))

    def q(**f: Any) -> Any:
        filters = {"action": None, "actor": None, "target": None, **f}
        return lambda **kw: repos.audit.query(ws, **filters, **kw)

    everything = walk(q(), 4)
    assert [r.seq for r in everything] == [seq_of(i) for i in reversed(range(9))]
    assert [r.seq for r in walk(q(action="plugin.install"), 2)] == [seq_of(i) for i in (5, 4, 3, 2, 1, 0)]
    assert [r.seq for r in walk(q(actor="key:a", action="plugin.install"), 10)] == [seq_of(i) for i in (5, 3, 1)]
    assert [r.seq for r in walk(q(target="t0"), 1)] == [seq_of(i) for i in (6, 3, 0)]
    assert walk(q(action="nothing.like.this"), 5) == []

    # A time window, its bounds included, whatever offset the bounds are written in.
    east, west = timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))
    window = q(since=(NOW + timedelta(seconds=2)).astimezone(east), until=(NOW + timedelta(seconds=5)).astimezone(west))
    assert [r.seq for r in walk(window, 3)] == [seq_of(i) for i in (5, 4, 3, 2)]
    assert [r.seq for r in walk(q(since=NOW + timedelta(seconds=6, microseconds=500_000)), 5)] == [
        seq_of(i) for i in (8, 7)
    ]
    assert [r.seq for r in walk(q(actor="key:b", until=NOW + timedelta(seconds=3)), 5)] == [seq_of(2), seq_of(0)]


def test_audit_chain_positions_are_taken_once_and_latest_is_the_head(repos: Repos) -> None:
    ws = u("ws")

    def rec(i: int) -> AuditRecord:
        return AuditRecord(
            workspace_id=ws, seq=seq_of(i), time=NOW, actor="key:a", action="a.b", target="t", outcome="success"
        )

    assert repos.audit.latest(ws) is None
    repos.audit.append(rec(0))
    with pytest.raises(ConflictError):
        repos.audit.append(rec(0))  # the same position twice
    repos.audit.append(rec(1))
    latest, tail = repos.audit.latest(ws), repos.audit.tail(ws)
    assert latest is not None and tail is not None and latest.seq == tail.seq == seq_of(1)


def test_audit_head_is_kept_apart_and_only_moves_forward_and_the_chain_key_is_created_once(repos: Repos) -> None:
    ws = u("ws")

    def rec(i: int) -> AuditRecord:
        return AuditRecord(
            workspace_id=ws, seq=seq_of(i), time=NOW, actor="key:a", action="a.b", target=f"t{i}", outcome="success"
        )

    assert repos.audit.head(ws) is None
    repos.audit.append(rec(1))
    repos.audit.append(rec(0))  # a slower writer's older position must not move the head back
    head = repos.audit.head(ws)
    assert head is not None and (head.seq, head.target) == (seq_of(1), "t1")
    key_id = u("key")  # not the platform's own key: other tests share this meta table
    assert repos.audit.chain_key(key_id) is None
    assert repos.audit.create_chain_key(key_id, "ciphertext-a") == "ciphertext-a"
    assert repos.audit.create_chain_key(key_id, "ciphertext-b") == "ciphertext-a" == repos.audit.chain_key(key_id)


# --- indexed reads that requests rely on (no Scan) ---------------------------------------


def test_review_queue_holds_only_pending_versions(repos: Repos) -> None:
    pid = u("rq")
    made = [version(pid, f"1.{i}.0", uuid.uuid4().hex * 2) for i in range(3)]
    for v in made:
        repos.versions.create(v)
    repos.versions.update(made[1].model_copy(update={"state": "approved"}))
    mine = sorted(v.version for v in repos.versions.list_pending() if v.plugin_id == pid)
    assert mine == ["1.0.0", "1.2.0"]
    repos.versions.update(made[0].model_copy(update={"state": "rejected"}))
    assert [v.version for v in repos.versions.list_pending() if v.plugin_id == pid] == ["1.2.0"]


def test_installations_on_a_version_across_workspaces(repos: Repos) -> None:
    pid, other_pid = u("yk"), u("yk")
    on_1 = [installation(u("ws"), pid) for _ in range(3)]
    on_2 = installation(u("ws"), pid).model_copy(update={"version": "2.0.0"})
    elsewhere = installation(on_1[0].workspace_id, other_pid)
    for inst in [*on_1, on_2, elsewhere]:
        repos.installs.create(inst)
    found = repos.installs.list_on_version(pid, "1.0.0")
    assert sorted(i.installation_id for i in found) == sorted(i.installation_id for i in on_1)
    assert found[0].granted == ["tasks:read"]  # whole documents, not just keys
    repos.installs.put(on_1[1].model_copy(update={"version": "2.0.0"}))  # upgraded: no longer on 1.0.0
    repos.installs.delete(on_1[2])
    assert [i.installation_id for i in repos.installs.list_on_version(pid, "1.0.0")] == [on_1[0].installation_id]
    assert sorted(i.installation_id for i in repos.installs.list_on_version(pid, "2.0.0")) == sorted(
        [on_1[1].installation_id, on_2.installation_id]
    )
    assert repos.installs.list_on_version(pid, "9.9.9") == []


def test_installations_read_many_at_once(repos: Repos) -> None:
    # The sandbox's sweep asks about every idle worker with one call: over 100 keys, duplicates and missing ones.
    made = [installation(u("ws"), u("gm")) for _ in range(105)]
    for inst in made:
        repos.installs.create(inst)
    gone = installation(u("ws"), u("gm"))
    keys = [(i.workspace_id, i.plugin_id) for i in made]
    found = repos.installs.get_many([*keys, keys[0], (gone.workspace_id, gone.plugin_id)])
    assert sorted(i.installation_id for i in found) == sorted(i.installation_id for i in made)
    repos.installs.put(made[0].model_copy(update={"state": "disabled"}))
    assert repos.installs.get_many([keys[0]])[0].state == "disabled"  # read after write: consistent
    assert repos.installs.get_many([]) == []
