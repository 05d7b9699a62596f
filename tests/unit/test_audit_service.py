"""The audit chain's rules on the in-memory twin: the head, bounded verify, writers that race, a prefetched tail."""

from __future__ import annotations

import threading
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


WS = "ws-audit"
ADMIN = Caller(workspace_id=WS, role=Role.ADMIN, key_id="k")


def service(repo: InMemoryAuditRepository, box: InMemorySecretBox) -> AuditService:
    return AuditService(repo, Clock(), Ids(), box)


def test_the_key_is_shared_through_storage_and_the_newest_record_cannot_vanish() -> None:
    repo, box = InMemoryAuditRepository(), InMemorySecretBox()
    first, second = service(repo, box), service(repo, box)  # two processes, one table
    for i in range(4):
        (first if i % 2 else second).record(WS, "key:a", "a.b", f"t{i}")
    assert second.verify(ADMIN).ok and first.verify(ADMIN).checked == 4
    assert len(repo.keys) == 1  # stored once, encrypted
    newest = max(repo.items, key=lambda r: r.seq)
    repo.items.remove(newest)
    bad = first.verify(ADMIN)
    assert not bad.ok and bad.first_bad_seq == newest.seq and "newest" in (bad.reason or "")


def test_a_chain_written_with_another_key_does_not_verify() -> None:
    repo = InMemoryAuditRepository()
    service(repo, InMemorySecretBox()).record(WS, "key:a", "a.b", "t")
    other_repo = InMemoryAuditRepository()
    other_repo.items, other_repo.heads = repo.items, repo.heads  # same records, a different key
    bad = service(other_repo, InMemorySecretBox()).verify(ADMIN)
    assert not bad.ok and "modified or forged" in (bad.reason or "")


def test_verify_stops_after_max_records_and_resumes() -> None:
    audit = service(InMemoryAuditRepository(), InMemorySecretBox())
    for i in range(7):
        audit.record(WS, "key:a", "a.b", f"t{i}")
    part = audit.verify(ADMIN, max_records=3)
    assert (part.ok, part.complete, part.checked) == (True, False, 3) and part.next_token
    rest = audit.verify(ADMIN, token=part.next_token, max_records=3)
    last = audit.verify(ADMIN, token=rest.next_token, max_records=3)
    assert (last.ok, last.complete, last.checked) == (True, True, 7)


def test_sixteen_threads_in_two_processes_all_append() -> None:
    repo, box = InMemoryAuditRepository(), InMemorySecretBox()
    processes = [service(repo, box), service(repo, box)]
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(10):
                processes[i % 2].record(WS, f"key:{i}", "a.b", f"t{j}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    verdict = processes[0].verify(ADMIN)
    assert verdict.ok and verdict.checked == 160


# An append that uses a prefetched chain tail chains correctly, even when the tail moved after the prefetch.
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
