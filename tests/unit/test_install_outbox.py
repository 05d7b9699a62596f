"""An install is all or nothing, and a retry with the same Idempotency-Key repairs one whose last step failed."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import ConflictError, DependencyUnavailableError
from chalicelib.domain.models import Caller, InstallRequest
from chalicelib.domain.outbox import NewInstallation
from unit.conftest import World

PLUGIN = {"permissions": ["tasks:read"], "events": ["task.completed"]}


@pytest.fixture
def pub(world: World) -> Caller:
    caller = world.caller(world.workspace(publisher="acme"))
    world.publish_manifest(caller, "tx-demo", "1.0.0", **PLUGIN)
    return caller


def installed_events(world: World, workspace_id: str) -> list[Any]:
    return [e for e in world.adapters.bus.published if e.type == "plugin.installed" and e.workspace_id == workspace_id]  # type: ignore[attr-defined]


def test_an_install_commits_its_grants_count_subscriptions_and_event_together(world: World, pub: Caller) -> None:
    seen: list[NewInstallation] = []
    writer = world.services.installs._writer
    original = writer.create

    def spy(change: NewInstallation) -> bool:
        seen.append(change)
        return original(change)

    writer.create = spy  # type: ignore[method-assign]
    inst = world.services.installs.install(pub, InstallRequest(plugin_id="tx-demo", grant=["tasks:read"]))
    [change] = seen
    assert change.installation.installation_id == inst.installation_id
    assert change.subscribe_to == ["task.completed"]
    assert [e.type for e in change.events] == ["plugin.installed"]
    assert change.audit is not None and (change.audit.action, change.audit.target) == (
        "plugin.install",
        inst.installation_id,
    )
    assert world.adapters.permissions.list(inst.installation_id) == ["tasks:read"]
    assert world.adapters.subscriptions.targets(pub.workspace_id, "task.completed") == [
        f"installation#{inst.installation_id}"
    ]
    [event] = installed_events(world, pub.workspace_id)
    assert event.data == {"installation_id": inst.installation_id, "plugin_id": "tx-demo", "version": "1.0.0"}


def test_an_install_whose_audit_record_cannot_be_written_leaves_nothing_and_its_retry_installs(
    world: World, pub: Caller
) -> None:
    repo: Any = world.adapters.audit
    append = repo.append
    failures = [DependencyUnavailableError("The audit log is unreachable; retry shortly.")]

    def flaky_append(*args: Any, **kwargs: Any) -> Any:
        record = args[0] if args else next(iter(kwargs.values()))
        if record.action == "plugin.install" and record.outcome == "success" and failures:
            raise failures.pop()
        return append(*args, **kwargs)

    repo.append = flaky_append
    req = InstallRequest(plugin_id="tx-demo", grant=["tasks:read"])
    with pytest.raises(DependencyUnavailableError):
        world.services.installs.install(pub, req, idempotency_key="k-1")
    # The audit record travels with the installation: neither was written, nor the count, nor the event.
    assert world.services.installs.list(pub).items == []
    assert world.services.marketplace.get_plugin(pub, "tx-demo").install_count == 0
    assert installed_events(world, pub.workspace_id) == []
    # The same request, retried with its key, installs once, with one record of it.
    done = world.services.installs.install(pub, req, idempotency_key="k-1")
    assert [i.installation_id for i in world.services.installs.list(pub).items] == [done.installation_id]
    assert world.services.marketplace.get_plugin(pub, "tx-demo").install_count == 1
    assert len(installed_events(world, pub.workspace_id)) == 1
    items, _ = world.adapters.audit.query(
        pub.workspace_id, action="plugin.install", actor=None, target=None, limit=10, token=None
    )
    assert [(r.target, r.outcome) for r in items] == [(done.installation_id, "success"), ("tx-demo@1.0.0", "failed")]
    assert world.services.audit.verify(pub).ok
    # Another request (another key, or none) is told the plugin is installed.
    with pytest.raises(ConflictError):
        world.services.installs.install(pub, req, idempotency_key="k-2")
    with pytest.raises(ConflictError):
        world.services.installs.install(pub, req)


def _record(seq: int, envelope_json: str, name: str = "INSERT") -> dict[str, Any]:
    return {
        "eventName": name,
        "dynamodb": {"SequenceNumber": str(seq), "NewImage": {"envelope": {"S": envelope_json}}},
    }


def test_the_forwarder_publishes_in_order_and_names_where_to_resume_when_the_bus_fails(world: World) -> None:
    from chalicelib.adapters.memory import InMemoryEventBus
    from chalicelib.workers.outbox import handle_outbox_stream

    events = [world.services.events.envelope("ws-1", "workspace.tick", {"n": n}) for n in range(25)]
    records = [_record(100 + i, e.model_dump_json()) for i, e in enumerate(events)]
    records.insert(3, _record(99, "", name="REMOVE"))  # a TTL expiry: nothing to announce

    class FailingAfter(InMemoryEventBus):
        def __init__(self, calls: int) -> None:
            super().__init__()
            self.calls = calls

        def publish(self, batch: list[Any]) -> None:
            if self.calls == 0:
                raise DependencyUnavailableError("The event bus is unreachable; retry shortly.")
            self.calls -= 1
            super().publish(batch)

    bus = FailingAfter(calls=1)
    result = handle_outbox_stream({"Records": records}, None, bus=bus)
    # The first ten went out; the stream is read again from the eleventh.
    assert [e.id for e in bus.published] == [e.id for e in events[:10]]
    assert result == {"batchItemFailures": [{"itemIdentifier": "110"}]}
    healthy = InMemoryEventBus()
    assert handle_outbox_stream({"Records": records[11:]}, None, bus=healthy) == {"batchItemFailures": []}
    assert [e.id for e in healthy.published] == [e.id for e in events[10:]]
