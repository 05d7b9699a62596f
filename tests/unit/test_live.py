"""Live events: the WebSocket handlers app.py registers, and the dispatcher's fan-out, on in-memory fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.session import Session
from botocore.stub import Stubber
from chalice.test import Client

from app import app
from chalicelib.adapters import memory
from chalicelib.adapters.live import ApiGatewayLiveSender, InMemoryLiveSender
from chalicelib.config import Settings
from chalicelib.container import build_services, in_memory_adapters, reset_services
from chalicelib.domain.errors import DependencyUnavailableError, LiveEventsDisabledError, ValidationFailedError
from chalicelib.domain.live import MAX_FRAME_BYTES, event_frame, matches, parse_type_filter
from chalicelib.domain.models import Caller, EventEnvelope
from chalicelib.domain.permissions import Role
from chalicelib.domain.tasks import CreateTaskRequest
from unit.conftest import FixedClock, World, fake_resolver

LIVE_URL = "wss://abc123.execute-api.eu-west-1.amazonaws.com/api"


@pytest.fixture
def live_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, InMemoryLiveSender]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # chalice's websocket wrapper reads it, as on Lambda
    adapters = in_memory_adapters()
    adapters.resolver = fake_resolver
    adapters.plugin_events = memory.InMemoryPluginEventHandler()
    adapters.clock = FixedClock()
    sender = InMemoryLiveSender()
    adapters.live_sender = sender
    settings = Settings(webhooks_allow_private=False, live_public_url=LIVE_URL)
    world = World(build_services(settings, adapters), adapters)
    reset_services(world.services)
    yield world, sender
    reset_services(None)


def key(world: World, ws: str, role: Role = Role.MEMBER) -> str:
    return world.services.auth.issue_key(ws, role, role.value, created_by="operator").key


def ticket(world: World, ws: str, role: Role = Role.MEMBER) -> str:
    return world.services.live.issue_ticket(world.caller(ws, role)).ticket


def ws_event(route: str, connection_id: str, **extra: Any) -> dict[str, Any]:
    """What API Gateway sends a WebSocket route's Lambda (the fields chalice reads, and ours)."""
    ctx = {"routeKey": route, "connectionId": connection_id, "domainName": "x", "stage": "api", "apiId": "abc"}
    return {"requestContext": ctx, **extra}


def connect(client: Client, connection_id: str, **query: str) -> dict[str, Any]:
    event = ws_event("$connect", connection_id, queryStringParameters=query or None)
    return dict(client.lambda_.invoke("live_connect", event).payload)


def envelope(ws: str, event_type: str = "task.created", **data: Any) -> EventEnvelope:
    from datetime import UTC, datetime

    return EventEnvelope(
        id="01JZ0000000000000000000000", source="plugyard.host", type=event_type, workspace_id=ws,
        time=datetime(2026, 1, 1, tzinfo=UTC), data=data or {"task_id": "t1", "title": "x", "status": "pending"},
    )  # fmt: skip


# --- handlers -------------------------------------------------------------------------------------


def test_connect_authenticates_with_the_workspace_key_and_records_the_connection(
    live_world: tuple[World, InMemoryLiveSender],
) -> None:
    world, _ = live_world
    ws = world.workspace()
    with Client(app) as client:
        assert connect(client, "c1", ticket=ticket(world, ws), types="task.*")["statusCode"] == 200
        stored = world.adapters.live_connections.get("c1")
        assert stored is not None and stored.workspace_id == ws and stored.types == ["task.*"]

        # A header works too (non-browser clients).
        event = ws_event("$connect", "c2", headers={"Authorization": f"Bearer {key(world, ws)}"})
        assert client.lambda_.invoke("live_connect", event).payload["statusCode"] == 200

        client.lambda_.invoke("live_disconnect", ws_event("$disconnect", "c1"))
        assert world.adapters.live_connections.get("c1") is None


def test_connect_refuses_bad_keys_roles_and_filters_with_a_problem(
    live_world: tuple[World, InMemoryLiveSender],
) -> None:
    world, _ = live_world
    ws = world.workspace()
    with Client(app) as client:
        for query, status, code in [
            ({}, 401, "unauthenticated"),
            ({"ticket": "lvt_nope"}, 401, "unauthenticated"),
            # A key in the URL is never read: keys travel in headers only.
            ({"token": key(world, ws)}, 401, "unauthenticated"),
            ({"ticket": ticket(world, ws), "types": "Task created"}, 422, "validation-failed"),
        ]:
            answer = connect(client, "bad", **query)
            assert answer["statusCode"] == status, answer
            body = json.loads(answer["body"])
            assert body["type"].endswith("/" + code) and body["status"] == status
            assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert world.adapters.live_connections.get("bad") is None


def test_messages_ping_and_change_the_filter(live_world: tuple[World, InMemoryLiveSender]) -> None:
    world, sender = live_world
    ws = world.workspace()
    with Client(app) as client:
        connect(client, "c1", ticket=ticket(world, ws))
        for body in ['{"action":"ping"}', '{"action":"subscribe","types":["plugin.*"]}', "nope", '{"action":"x"}']:
            client.lambda_.invoke("live_message", ws_event("$default", "c1", body=body))
    kinds = [json.loads(f)["type"] for f in sender.frames["c1"]]
    assert kinds == ["live.pong", "live.subscribed", "live.error", "live.error"]
    stored = world.adapters.live_connections.get("c1")
    assert stored is not None and stored.types == ["plugin.*"]


def test_a_ticket_opens_one_socket_of_its_workspace_once_and_only_while_fresh(
    live_world: tuple[World, InMemoryLiveSender],
) -> None:
    world, _ = live_world
    ws = world.workspace()
    issued = world.services.live.issue_ticket(world.caller(ws, Role.MEMBER))
    assert issued.url == LIVE_URL and issued.ticket.startswith("lvt_")
    # Stored under its hash only: the secret itself is nowhere at rest.
    stored = dict(world.adapters.live_tickets.items)  # type: ignore[attr-defined]
    assert issued.ticket not in json.dumps({k: v.model_dump(mode="json") for k, v in stored.items()})
    with Client(app) as client:
        assert connect(client, "c1", ticket=issued.ticket)["statusCode"] == 200
        conn = world.adapters.live_connections.get("c1")
        assert conn is not None and conn.workspace_id == ws
        again = connect(client, "c2", ticket=issued.ticket)
        assert again["statusCode"] == 401 and "already used" in json.loads(again["body"])["detail"]

        stale = world.services.live.issue_ticket(world.caller(ws))
        world.adapters.clock.t += timedelta(seconds=31)  # type: ignore[attr-defined]
        assert connect(client, "c3", ticket=stale.ticket)["statusCode"] == 401
    assert world.adapters.live_connections.get("c2") is None and world.adapters.live_connections.get("c3") is None


def test_tickets_over_http_need_a_reading_role_and_a_live_api(live_world: tuple[World, InMemoryLiveSender]) -> None:
    world, _ = live_world
    ws = world.workspace()
    with Client(app) as client:
        member = {"Authorization": f"Bearer {key(world, ws)}"}
        answer = client.http.post("/api/live/tickets", headers=member)
        assert answer.status_code == 201, answer.body
        body = json.loads(answer.body)
        assert body["url"] == LIVE_URL and body["ticket"].startswith("lvt_") and body["expires_at"]
        publisher = {"Authorization": f"Bearer {key(world, ws, Role.PUBLISHER)}"}
        assert client.http.post("/api/live/tickets", headers=publisher).status_code == 403
        assert client.http.post("/api/live/tickets").status_code == 401

    adapters = in_memory_adapters()
    svc = build_services(Settings(), adapters)  # no live WebSocket API on this stage
    svc.auth.create_workspace("w", "w")
    with pytest.raises(LiveEventsDisabledError):
        svc.live.issue_ticket(Caller(workspace_id="w", role=Role.MEMBER, key_id="k"))


# --- fan-out --------------------------------------------------------------------------------------


def test_dispatch_pushes_to_the_workspaces_matching_connections_only(
    live_world: tuple[World, InMemoryLiveSender],
) -> None:
    world, sender = live_world
    a, b = world.workspace(), world.workspace()
    live = world.services.live
    live.connect("a-all", key=key(world, a), types=None)
    live.connect("a-tasks", key=key(world, a), types="task.*")
    live.connect("a-plugins", key=key(world, a), types="plugin.*")
    live.connect("b-all", key=key(world, b), types=None)

    task = world.services.tasks.create(world.caller(a), CreateTaskRequest(title="Ship it"))
    [published] = [e for e in world.adapters.bus.published if e.type == "task.created"]  # type: ignore[attr-defined]
    world.services.dispatch.dispatch(published)

    assert set(sender.frames) == {"a-all", "a-tasks"}
    frame = json.loads(sender.frames["a-tasks"][0])
    assert frame["type"] == "task.created" and frame["workspace_id"] == a and frame["data"]["task_id"] == task.task_id


def test_gone_connections_are_forgotten_and_failures_do_not_stop_the_fan_out(
    live_world: tuple[World, InMemoryLiveSender],
) -> None:
    world, sender = live_world
    ws = world.workspace()
    for cid in ("gone", "ok"):
        world.services.live.connect(cid, key=key(world, ws), types=None)
    sender.gone.add("gone")
    result = world.services.live.push(envelope(ws))
    assert (result.sent, result.gone, result.failed) == (1, 1, 0)
    assert world.adapters.live_connections.get("gone") is None
    assert world.adapters.live_connections.get("ok") is not None


def test_expired_connections_are_skipped_and_the_workspace_limit_holds() -> None:
    adapters = in_memory_adapters()
    clock = FixedClock()
    adapters.clock = clock
    adapters.live_sender = sender = InMemoryLiveSender()
    svc = build_services(Settings(live_connection_ttl_s=60, live_max_connections_per_workspace=2), adapters)
    svc.auth.create_workspace("w", "w")
    k = svc.auth.issue_key("w", Role.MEMBER, "m", created_by="operator").key
    svc.live.connect("old", key=k, types=None)
    clock.t += timedelta(seconds=61)
    svc.live.connect("new", key=k, types=None)
    svc.live.connect("newer", key=k, types=None)
    with pytest.raises(ValidationFailedError):
        svc.live.connect("too-many", key=k, types=None)
    svc.live.push(envelope("w"))
    assert set(sender.frames) == {"new", "newer"}


def test_without_a_sender_nothing_is_pushed(world: World) -> None:
    # The fan-out still runs (listen sessions buffer through it), but no socket can be reached.
    assert world.services.live.push(envelope("w")).sent == 0


# --- domain and the AWS sender ----------------------------------------------------------------------


def test_type_filters() -> None:
    assert parse_type_filter("task.*, plugin.installed") == ["plugin.installed", "task.*"]
    assert parse_type_filter("*,task.*") == [] and parse_type_filter(None) == []
    for bad in ["task*", ".x", "Task.created", "a.*.b"]:
        with pytest.raises(ValidationFailedError):
            parse_type_filter(bad)
    with pytest.raises(ValidationFailedError):
        parse_type_filter([f"t{i}.*" for i in range(21)])
    assert matches(["task.*"], "task.created") and not matches(["task.*"], "tasks.created")
    assert not matches(["task.*"], "task") and matches([], "anything")


def test_a_frame_too_large_for_api_gateway_omits_the_data() -> None:
    big = envelope("w", "workspace.big", blob="x" * MAX_FRAME_BYTES)
    frame = json.loads(event_frame(big))
    assert frame["data_omitted"] is True and "data" not in frame and frame["id"] == big.id


def test_api_gateway_sender_maps_gone_and_failures() -> None:
    client = Session().create_client(
        "apigatewaymanagementapi",
        region_name="us-east-1",
        endpoint_url="https://abc.execute-api.us-east-1.amazonaws.com/api",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    sender = ApiGatewayLiveSender(client)
    with Stubber(client) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": "c1", "Data": b"hi"})
        stub.add_client_error("post_to_connection", "GoneException", http_status_code=410)
        stub.add_client_error("post_to_connection", "LimitExceededException", http_status_code=429)
        assert sender.send("c1", "hi") is True
        assert sender.send("c1", "hi") is False
        with pytest.raises(DependencyUnavailableError):
            sender.send("c1", "hi")
