"""One contract for the Deliveries repository: the in-memory fake and the PynamoDB adapter on moto."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters import dynamo, memory
from chalicelib.domain.deliveries import Delivery, DeliveryAttempt

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamo"])
def repo(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return memory.InMemoryDeliveryRepository()
    operator = request.getfixturevalue("operator")
    dynamo.bind_tables(operator.settings)
    return dynamo.DynamoDeliveryRepository()


def delivery(webhook_id: str, i: int, status: str = "pending") -> Delivery:
    return Delivery(
        webhook_id=webhook_id,
        delivery_id=f"01J{i:023d}",
        workspace_id="ws",
        event_id=f"01J{i:023d}",
        event_type="task.completed",
        body='{"x":1}',
        status=status,  # type: ignore[arg-type]
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=30),
    )


def test_create_once_and_save_under_an_optimistic_lock(repo: Any) -> None:
    wid = f"wh-{uuid.uuid4().hex[:8]}"
    d = delivery(wid, 1)
    assert repo.create(d) is True and d.version == 1
    assert repo.create(delivery(wid, 1)) is False
    a, b = repo.get(wid, d.delivery_id), repo.get(wid, d.delivery_id)
    a.record(DeliveryAttempt(attempt=1, at=NOW, trigger="event", status_code=500))
    assert repo.save(a) is True and a.version == 2
    b.status = "delivered"
    assert repo.save(b) is False  # stale copy: refused
    got = repo.get(wid, d.delivery_id)
    assert got.status == "pending" and got.attempt_count == 1 and got.attempts[0].status_code == 500
    assert got.version == 2
    assert repo.get(wid, "01JNOPE") is None


def test_list_newest_first_by_status_since_and_pages(repo: Any) -> None:
    wid = f"wh-{uuid.uuid4().hex[:8]}"
    for i in range(5):
        repo.create(delivery(wid, i, "failed" if i % 2 else "delivered"))
    items, token = repo.list(wid, status=None, since_id=None, limit=10, token=None)
    assert [d.delivery_id[-1] for d in items] == ["4", "3", "2", "1", "0"] and token is None
    failed, _ = repo.list(wid, status="failed", since_id=None, limit=10, token=None)
    assert [d.delivery_id[-1] for d in failed] == ["3", "1"]
    since, _ = repo.list(wid, status=None, since_id=f"01J{2:023d}", limit=10, token=None, newest_first=False)
    assert [d.delivery_id[-1] for d in since] == ["2", "3", "4"]
    first, token = repo.list(wid, status=None, since_id=None, limit=2, token=None)
    second, _ = repo.list(wid, status=None, since_id=None, limit=2, token=token)
    assert [d.delivery_id[-1] for d in first + second] == ["4", "3", "2", "1"]
