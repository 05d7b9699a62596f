"""One contract, two task writers: the in-memory twin and the TransactWriteItems on the moto server.

A task's change is written only if the stored task still has the status it was read in, and then together
with its audit record and the events that announce it; otherwise nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters import dynamo, memory
from chalicelib.domain.errors import TaskStateError
from chalicelib.domain.models import AuditRecord, EventEnvelope, Task
from chalicelib.domain.outbox import TaskChange
from integration.test_contract_repositories import u

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Writer:
    writer: Any
    tasks: Any
    audit: Any
    events: Any  # the events written: ids → envelope


@pytest.fixture(params=["memory", "dynamo"])
def w(request: pytest.FixtureRequest) -> Writer:
    if request.param == "memory":
        tasks, audit, bus = memory.InMemoryTaskRepository(), memory.InMemoryAuditRepository(), memory.InMemoryEventBus()
        return Writer(memory.InMemoryTaskWriter(tasks, audit, bus), tasks, audit, lambda: {e.id for e in bus.published})
    dynamo.bind_tables(request.getfixturevalue("operator").settings)
    stack = request.getfixturevalue("stack")
    ddb, table = stack.client("dynamodb"), request.getfixturevalue("operator").settings.table_name("outbox")

    def outbox_ids() -> set[str]:
        return {i["event_id"]["S"] for i in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}

    return Writer(dynamo.DynamoTaskWriter(), dynamo.DynamoTaskRepository(), dynamo.DynamoAuditRepository(), outbox_ids)


def task(ws: str, status: str = "pending") -> Task:
    return Task(workspace_id=ws, task_id=u("task"), title="t", status=status, created_at=NOW, updated_at=NOW)


def record(ws: str, seq: int, target: str) -> AuditRecord:
    return AuditRecord(
        workspace_id=ws,
        seq=str(seq).zfill(12),
        time=NOW,
        actor="key:x",
        action="task.x",
        target=target,
        outcome="success",
        hash="h",
    )


def event(ws: str, t: Task) -> EventEnvelope:
    return EventEnvelope(
        id=u("evt"), source="plugyard.host", type="task.created", workspace_id=ws, time=NOW, data={"task_id": t.task_id}
    )


def test_a_new_task_and_then_its_transition_are_written_with_their_records_and_events(w: Writer) -> None:
    ws = u("ws")
    t = task(ws)
    created = event(ws, t)
    assert w.writer.commit(TaskChange(t, None, record(ws, 1, t.task_id), [created])) is True
    running = t.model_copy(update={"status": "running"})
    started = event(ws, t)
    assert w.writer.commit(TaskChange(running, "pending", record(ws, 2, t.task_id), [started])) is True
    stored = w.tasks.get(ws, t.task_id)
    assert stored is not None and stored.status == "running"
    assert {created.id, started.id} <= w.events()
    assert [r.seq for r in w.audit.query(ws, action=None, actor=None, target=None, limit=10, token=None)[0]] == [
        "000000000002",
        "000000000001",
    ]


@pytest.mark.parametrize("stored_status", [None, "completed"])
def test_a_change_to_a_task_whose_status_moved_writes_nothing(w: Writer, stored_status: str | None) -> None:
    ws = u("ws")
    t = task(ws)
    if stored_status is not None:  # the task exists, and is no longer what the change was read from
        assert w.writer.commit(TaskChange(t.model_copy(update={"status": stored_status}), None)) is True
    late = event(ws, t)
    with pytest.raises(TaskStateError):
        w.writer.commit(TaskChange(t.model_copy(update={"status": "completed"}), "running", record(ws, 1, "x"), [late]))
    assert late.id not in w.events()
    assert w.audit.query(ws, action=None, actor=None, target=None, limit=10, token=None)[0] == []
    stored = w.tasks.get(ws, t.task_id)
    assert (stored.status if stored else None) == stored_status


def test_a_taken_audit_position_writes_nothing_and_says_so(w: Writer) -> None:
    ws = u("ws")
    first = task(ws)
    assert w.writer.commit(TaskChange(first, None, record(ws, 1, first.task_id))) is True
    second = task(ws)
    lost = event(ws, second)
    assert w.writer.commit(TaskChange(second, None, record(ws, 1, second.task_id), [lost])) is False
    assert w.tasks.get(ws, second.task_id) is None and lost.id not in w.events()


def test_a_task_that_exists_cannot_be_created_again(w: Writer) -> None:
    ws = u("ws")
    t = task(ws)
    assert w.writer.commit(TaskChange(t, None)) is True
    with pytest.raises(TaskStateError):
        w.writer.commit(TaskChange(t, None))
