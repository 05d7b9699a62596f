"""Listen sessions on in-memory services: the fan-out buffers a workspace's events, a poll hands them out signed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.config import Settings
from chalicelib.container import build_services, in_memory_adapters
from chalicelib.domain.errors import ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.domain.listen import LISTEN_IDLE_S, OpenListenRequest
from chalicelib.domain.models import EventEnvelope
from chalicelib.domain.permissions import Role
from unit.conftest import FixedClock, World, make_world


def event(ws: str, event_type: str, n: int) -> EventEnvelope:
    return EventEnvelope(
        id=f"01J000000000000000000000{n:02d}",
        source="plugyard.host",
        type=event_type,
        workspace_id=ws,
        time=datetime.now(UTC),
        data={"n": n},
    )


@pytest.fixture
def world() -> World:
    return make_world()


def test_a_poll_hands_out_the_matching_events_signed_as_webhook_deliveries(world: World) -> None:
    ws = world.workspace()
    admin = world.caller(ws)
    svc = world.services
    created = svc.listen.open(admin, OpenListenRequest(types=["task.*"]))
    assert created.secret.startswith("whsec_") and created.types == ["task.*"]
    for n, event_type in enumerate(["task.created", "plugin.installed", "task.completed"]):
        svc.live.push(event(ws, event_type, n))
    svc.live.push(event(world.workspace(), "task.created", 9))  # another workspace's event
    batch = svc.listen.poll(admin, created.session_id, 0)
    assert [d.event_type for d in batch.deliveries] == ["task.created", "task.completed"]
    for d in batch.deliveries:
        # What a receiver does with the secret the CLI printed: the reference library verifies it.
        payload = Webhook(created.secret).verify(d.body, d.headers)
        assert payload["id"] == d.delivery_id == d.headers["webhook-id"]
        assert json.loads(d.body)["workspace_id"] == ws
    assert svc.listen.poll(admin, created.session_id, 0).deliveries == []  # handed out once
    # The secret is stored encrypted only, never handed out again.
    stored = world.adapters.listen.get(created.session_id)
    assert stored is not None and created.secret not in stored.model_dump_json()


def test_sessions_belong_to_their_workspace_and_admins(world: World) -> None:
    ws = world.workspace()
    created = world.services.listen.open(world.caller(ws), OpenListenRequest())
    with pytest.raises(NotFoundError):
        world.services.listen.poll(world.caller(world.workspace()), created.session_id, 0)
    with pytest.raises(ForbiddenError):
        world.services.listen.open(world.caller(ws, Role.MEMBER), OpenListenRequest())
    with pytest.raises(ValidationFailedError):
        world.services.listen.open(world.caller(ws), OpenListenRequest(types=["Not A Pattern"]))


def test_an_unpolled_session_expires_and_a_closed_one_is_gone() -> None:
    adapters = in_memory_adapters()
    clock = adapters.clock = FixedClock()
    world = World(build_services(Settings(webhooks_allow_private=False), adapters), adapters)
    ws = world.workspace()
    admin = world.caller(ws)
    svc = world.services
    created = svc.listen.open(admin, OpenListenRequest())
    clock.t += timedelta(seconds=LISTEN_IDLE_S - 1)
    svc.listen.poll(admin, created.session_id, 0)  # a poll keeps it alive
    clock.t += timedelta(seconds=LISTEN_IDLE_S + 1)
    svc.live.push(event(ws, "task.created", 1))
    with pytest.raises(NotFoundError):
        svc.listen.poll(admin, created.session_id, 0)
    assert world.adapters.live_connections.list_for_workspace(ws, now=clock.t) == []
    again = svc.listen.open(admin, OpenListenRequest())
    svc.listen.close(admin, again.session_id)
    with pytest.raises(NotFoundError):
        svc.listen.poll(admin, again.session_id, 0)
