"""Live events over the running stack: a websockets client connects to the local WebSocket API with a key,
the API creates a task, the event goes bus → dispatcher → the local WebSocket API → the client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from conftest import Tenant
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from chalicelib.domain.permissions import Role
from chalicelib.local.stack import LocalStack

pytestmark = pytest.mark.stack


def live(stack: LocalStack, key: str, types: str | None = None) -> ClientConnection:
    """A socket opened as a browser does: a ticket from the API, then the URL the API named with it."""
    answer = httpx.post(f"{stack.api_url}/api/live/tickets", headers={"Authorization": f"Bearer {key}"})
    if answer.status_code != 201:
        raise PermissionError(answer.status_code, answer.json())
    issued = answer.json()
    assert issued["url"] == stack.live_url + "/"
    query = f"?ticket={issued['ticket']}" + (f"&types={types}" if types else "")
    return connect(issued["url"] + query, open_timeout=10)


def frames_until(ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if predicate(frame):
            return dict(frame)


def test_a_client_receives_its_workspaces_task_events_and_no_one_elses(
    stack: LocalStack, new_tenant: Callable[..., Tenant]
) -> None:
    a, b = new_tenant(publisher=False), new_tenant(publisher=False)
    with live(stack, a.keys[Role.MEMBER], "task.*") as client_a, live(stack, b.keys[Role.MEMBER]) as client_b:
        started = time.monotonic()
        resp = a.admin.post("/api/tasks", json={"title": "Watch me live"})
        assert resp.status_code == 201, resp.text
        task_id = resp.json()["task_id"]

        frame = frames_until(client_a, lambda f: f.get("type") == "task.created", timeout_s=10)
        assert frame["workspace_id"] == a.workspace_id and frame["data"]["task_id"] == task_id
        assert frame["source"] == "plugyard.host" and len(frame["id"]) == 26
        assert time.monotonic() - started < 5

        # B's client heard nothing of A's task (B's own events would come through, A's never do).
        with pytest.raises(TimeoutError):
            client_b.recv(timeout=1.5)

        # Messages reach the $default handler, which answers on the socket.
        client_a.send(json.dumps({"action": "ping"}))
        assert frames_until(client_a, lambda f: f["type"].startswith("live."), timeout_s=5)["type"] == "live.pong"


def test_a_bad_key_is_refused_at_the_handshake(stack: LocalStack, tenant: Tenant) -> None:
    # A key in the URL is never read; an unknown ticket, or none, is refused.
    for query in [f"?token={tenant.keys[Role.ADMIN]}", "?ticket=lvt_not-a-ticket", ""]:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{stack.live_url}/{query}", open_timeout=10)
        assert refused.value.response.status_code == 401
        body = json.loads(refused.value.response.body or b"{}")
        assert body["type"].endswith("/unauthenticated"), body
    with pytest.raises(PermissionError) as forbidden:
        live(stack, tenant.keys[Role.PUBLISHER])
    assert forbidden.value.args[0] == 403
    with pytest.raises(InvalidStatus) as header_forbidden:
        connect(stack.live_url + "/", additional_headers={"Authorization": f"Bearer {tenant.keys[Role.PUBLISHER]}"})
    assert header_forbidden.value.response.status_code == 403


def test_disconnect_forgets_the_connection(stack: LocalStack, operator: Any, tenant: Tenant) -> None:
    connections = operator.adapters.live_connections
    with live(stack, tenant.keys[Role.ADMIN]):
        assert len(connections.list_for_workspace(tenant.workspace_id, now=datetime.now(UTC))) == 1
    deadline = time.monotonic() + 5
    while connections.list_for_workspace(tenant.workspace_id, now=datetime.now(UTC)):
        assert time.monotonic() < deadline, "the connection record outlived its socket"
        time.sleep(0.05)
