"""One contract for the listen sessions' repository, run against the in-memory fake and DynamoDB on moto."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.listen import DynamoListenRepository, InMemoryListenRepository, bind_listen_tables
from chalicelib.domain.listen import ListenSession

NOW = datetime.now(UTC)


@pytest.fixture(params=["memory", "dynamo"])
def repo(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryListenRepository()
    bind_listen_tables(request.getfixturevalue("operator").settings)
    return DynamoListenRepository()


def session() -> ListenSession:
    return ListenSession(
        session_id=uuid.uuid4().hex,
        workspace_id="ws",
        key_id="k",
        types=["task.*"],
        secret_ciphertext="ciphertext",
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=60),
    )


def test_a_session_buffers_events_in_order_hands_each_out_once_and_is_deleted_with_them(repo: Any) -> None:
    s = session()
    assert repo.get(s.session_id) is None
    repo.put(s)
    assert repo.get(s.session_id) == s
    for i in (3, 1, 2):  # event ids are ULIDs: their order is their time order
        repo.append(s, f"01J{i:023d}", "task.created", f'{{"n": {i}}}')
    assert repo.take(s.session_id, 2) == [
        ("01J" + "1".zfill(23), "task.created", '{"n": 1}'),
        ("01J" + "2".zfill(23), "task.created", '{"n": 2}'),
    ]
    repo.append(s, f"01J{4:023d}", "task.completed", "{}")
    assert [e[0][-1] for e in repo.take(s.session_id, 10)] == ["3", "4"]
    assert repo.take(s.session_id, 10) == []
    repo.append(s, f"01J{5:023d}", "task.created", "{}")
    repo.delete(s.session_id)
    assert repo.get(s.session_id) is None and repo.take(s.session_id, 10) == []
