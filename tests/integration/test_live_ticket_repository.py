"""One contract for the live tickets' repository, run against the in-memory fake and DynamoDB on moto."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.live import DynamoLiveTicketRepository, InMemoryLiveTicketRepository, bind_live_tables
from chalicelib.domain.live import LiveTicket


@pytest.fixture(params=["memory", "dynamo"])
def repo(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryLiveTicketRepository()
    bind_live_tables(request.getfixturevalue("operator").settings)
    return DynamoLiveTicketRepository()


def ticket() -> LiveTicket:
    return LiveTicket(
        ticket_hash=LiveTicket.hash_of(uuid.uuid4().hex),
        workspace_id="ws",
        key_id="k",
        expires_at=datetime.now(UTC) + timedelta(seconds=30),
    )


def test_a_ticket_is_taken_once_and_unknown_ones_are_none(repo: Any) -> None:
    t = ticket()
    assert repo.take(t.ticket_hash) is None
    repo.put(t)
    assert repo.take(t.ticket_hash) == t
    assert repo.take(t.ticket_hash) is None


def test_racing_takes_hand_the_ticket_to_one_of_them(repo: Any) -> None:
    t = ticket()
    repo.put(t)
    won: list[LiveTicket | None] = []
    racers = [threading.Thread(target=lambda: won.append(repo.take(t.ticket_hash))) for _ in range(6)]
    for r in racers:
        r.start()
    for r in racers:
        r.join()
    assert [w for w in won if w is not None] == [t]
