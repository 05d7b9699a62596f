"""An append that uses a prefetched chain tail chains correctly, even when the tail moved after the prefetch."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.adapters.memory import InMemoryAuditRepository, InMemorySecretBox
from chalicelib.domain.models import Caller
from chalicelib.domain.permissions import Role
from chalicelib.services.audit import AuditService


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)


class Ids:
    def new_id(self) -> str:
        return "id"


WS = "ws-prefetch"
ADMIN = Caller(workspace_id=WS, role=Role.ADMIN, key_id="k")


def test_prefetched_tail_chains_and_a_stale_one_is_caught_up() -> None:
    repo, box = InMemoryAuditRepository(), InMemorySecretBox()
    api, operator = AuditService(repo, Clock(), Ids(), box), AuditService(repo, Clock(), Ids(), box)
    created = operator.record(WS, "operator", "workspace.create", WS)

    api.prefetch(WS)
    first = api.record(WS, "key:a", "plugin.install", "i1")
    assert (first.seq, first.prev_hash) == ("000000000002", created.hash)

    # Another process appends between this process's prefetch and its append: the append still lands
    # after it, at the next position, chained onto it.
    other = AuditService(repo, Clock(), Ids(), box)
    other.prefetch(WS)
    api.record(WS, "key:a", "plugin.configure", "i1")
    late = other.record(WS, "key:b", "plugin.install", "i2")
    assert int(late.seq) == 4 and late.prev_hash == repo.items[-2].hash
    result = api.verify(ADMIN)
    assert result.ok and result.checked == 4
