"""One contract, two installation writers: the in-memory twin and the TransactWriteItems on the moto server.

A removal takes the installation with its grants and subscriptions, or nothing.

An install names the catalog generation it resolved its version at; the writer stores everything only if
that generation still holds, and otherwise stores nothing and says so (CatalogChangedError).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.adapters import dynamo, memory
from chalicelib.domain.errors import CatalogChangedError, ConflictError, InstallationNotFoundError
from chalicelib.domain.outbox import CacheGeneration, NewInstallation, RemovedInstallation
from integration.test_contract_repositories import NOW, installation, u


@dataclass
class Writer:
    writer: Any
    installs: Any
    permissions: Any
    generations: Any
    subscriptions: Any


@pytest.fixture(params=["memory", "dynamo"])
def w(request: pytest.FixtureRequest) -> Writer:
    if request.param == "memory":
        m = memory
        installs, permissions, generations, subscriptions = (
            m.InMemoryInstallationRepository(),
            m.InMemoryPermissionRepository(),
            m.InMemoryGenerationStore(),
            m.InMemorySubscriptionRepository(),
        )
        writer = m.InMemoryInstallationWriter(
            installs,
            permissions,
            m.InMemoryPluginRepository(m.InMemoryGenerationStore()),
            subscriptions,
            m.InMemoryEventBus(),
            m.InMemoryAuditRepository(),
            m.InMemoryPluginStatsRepository(),
            generations,
        )
        return Writer(writer, installs, permissions, generations, subscriptions)
    dynamo.bind_tables(request.getfixturevalue("operator").settings)
    d = dynamo
    return Writer(
        d.DynamoInstallationWriter(),
        d.DynamoInstallationRepository(),
        d.DynamoPermissionRepository(),
        d.DynamoGenerationStore(),
        d.DynamoSubscriptionRepository(),
    )


def change(resolved_at: CacheGeneration | None) -> NewInstallation:
    inst = installation(u("ws"), u("plugin"))
    # No install count: the plugin record need not exist for this contract.
    return NewInstallation(inst, "key:x", NOW, count_install=False, resolved_at=resolved_at)


@pytest.mark.parametrize("bumps", [0, 2])
def test_an_install_at_the_current_generation_is_written(w: Writer, bumps: int) -> None:
    name = u("catalog")  # 0: a counter never bumped, which the stored table holds no item for
    for _ in range(bumps):
        w.generations.bump(name)
    c = change(CacheGeneration(name, bumps))
    assert w.writer.create(c) is True
    inst = c.installation
    assert w.installs.get(inst.workspace_id, inst.plugin_id) is not None
    assert w.permissions.list(inst.installation_id) == ["tasks:read"]


@pytest.mark.parametrize("held", [0, 1])
def test_an_install_at_a_generation_that_moved_writes_nothing(w: Writer, held: int) -> None:
    name = u("catalog")
    for _ in range(held + 1):
        w.generations.bump(name)  # the catalog changed after the version was read at `held`
    c = change(CacheGeneration(name, held))
    with pytest.raises(CatalogChangedError):
        w.writer.create(c)
    inst = c.installation
    assert w.installs.get(inst.workspace_id, inst.plugin_id) is None
    assert w.permissions.list(inst.installation_id) == []


def test_an_existing_installation_is_still_a_conflict_behind_the_generation_check(w: Writer) -> None:
    name = u("catalog")
    first = change(CacheGeneration(name, 0))
    assert w.writer.create(first) is True
    again = NewInstallation(
        first.installation.model_copy(update={"installation_id": u("inst")}),
        "key:x",
        NOW,
        count_install=False,
        resolved_at=CacheGeneration(name, 0),
    )
    with pytest.raises(ConflictError):
        w.writer.create(again)


def test_a_removal_takes_the_installation_its_grants_and_subscriptions_together(w: Writer) -> None:
    c = change(None)
    inst = c.installation
    assert w.writer.create(NewInstallation(inst, "key:x", NOW, subscribe_to=["task.completed"], count_install=False))
    removal = RemovedInstallation(
        inst, scopes=["tasks:read"], unsubscribe_from=["task.completed"], count_uninstall=False
    )
    assert w.writer.remove(removal) is True
    assert w.installs.get(inst.workspace_id, inst.plugin_id) is None
    assert w.permissions.list(inst.installation_id) == []
    assert w.subscriptions.targets(inst.workspace_id, "task.completed") == []
    with pytest.raises(InstallationNotFoundError):  # gone already: nothing more to remove, nothing written
        w.writer.remove(removal)
