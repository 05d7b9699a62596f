"""Nothing accepted is lost, over the real stack: the outbox (a failing bus delays events, never loses
them), installs that are all-or-nothing or repaired by a retry, and workers restarted by the stack.

These tests break things on purpose (the bus, a table's data, a worker process), so they run on a stack
of their own, with private webhook URLs allowed so a receiver on loopback gets the deliveries.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import plugin_harness
import pytest
from conftest import ROLES, Tenant, uid
from standardwebhooks.webhooks import Webhook as StandardWebhook

from chalicelib.local.receiver import Answer, Receiver
from chalicelib.local.stack import LocalStack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def own_stack() -> Iterator[LocalStack]:
    with plugin_harness.own_stack(
        {"PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true"}, worker_args=["--visibility-s", "3"], quiet=True
    ) as s:
        yield s


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def ws(own_stack: LocalStack) -> Iterator[Tenant]:
    operator = own_stack.operator_services()
    workspace, publisher = uid("ws"), uid("pub")
    operator.auth.create_workspace(workspace, f"Workspace {workspace}", publisher_id=publisher)
    keys = {r: operator.auth.issue_key(workspace, r, f"{r.value} key", created_by="operator").key for r in ROLES}
    t = Tenant(workspace, publisher, keys, own_stack.api_url)
    t.register_signing_key()
    yield t
    t.close()


def client(stack: LocalStack, service: str) -> Any:
    return stack.client(service)


def wait_for(fn: Callable[[], Any], timeout_s: float = 30, every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


def hook(t: Tenant, url: str, events: list[str]) -> StandardWebhook:
    resp = t.admin.post("/api/webhooks/register", json={"url": url, "event_types": events})
    assert resp.status_code == 201, resp.text
    return StandardWebhook(resp.json()["secret"])


def deliveries(receiver: Receiver, path: str, verifier: StandardWebhook) -> list[dict[str, Any]]:
    """The events the receiver got on ``path``, each verified as a receiver would."""
    return [dict(verifier.verify(r.body, r.headers)) for r in receiver.requests_to(path)]


def test_an_install_made_while_the_bus_fails_is_announced_once_the_bus_is_back(
    own_stack: LocalStack, ws: Tenant, receiver: Receiver
) -> None:
    path = f"/{uid('bus')}"
    verifier = hook(ws, receiver.plan(path), ["plugin.installed"])
    pid = uid("p")
    ws.publish_ok(pid)
    events = client(own_stack, "events")
    bus = f"plugyard-{own_stack.stage}"
    [rule] = events.list_rules(EventBusName=bus)["Rules"]
    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    # The bus goes away: PutEvents fails for every event until it is back.
    events.remove_targets(Rule=rule["Name"], EventBusName=bus, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=rule["Name"], EventBusName=bus)
    events.delete_event_bus(Name=bus)
    try:
        resp = ws.admin.post("/api/plugins/install", json={"plugin_id": pid})
        assert resp.status_code == 201, resp.text  # the change is accepted: its event waits in the outbox
        installation_id = resp.json()["installation_id"]
        time.sleep(2.0)
        assert receiver.requests_to(path) == []
    finally:
        events.create_event_bus(Name=bus)
        events.put_rule(
            Name=rule["Name"], EventBusName=bus, EventPattern=rule["EventPattern"], State=rule.get("State", "ENABLED")
        )
        events.put_targets(Rule=rule["Name"], EventBusName=bus, Targets=targets)
    [event] = wait_for(lambda: deliveries(receiver, path, verifier))
    assert event["type"] == "plugin.installed"
    assert event["data"]["installation_id"] == installation_id
    assert event["workspace_id"] == ws.workspace_id


def _install_count(ddb: Any, stack: LocalStack, plugin_id: str) -> dict[str, Any]:
    item = ddb.get_item(TableName=f"plugyard-{stack.stage}-plugins", Key={"plugin_id": {"S": plugin_id}})["Item"]
    return dict(item["install_count"])


def test_an_install_whose_writes_fail_leaves_nothing_and_its_retry_installs(
    own_stack: LocalStack, ws: Tenant, receiver: Receiver
) -> None:
    path = f"/{uid('tx')}"
    verifier = hook(ws, receiver.plan(path), ["plugin.installed"])
    pid = uid("p")
    ws.publish_ok(pid, permissions=["tasks:read", "storage:write"], events=["task.completed"])
    ddb = client(own_stack, "dynamodb")
    plugins_table = f"plugyard-{own_stack.stage}-plugins"
    # Injected failure: the plugin's install counter is not a number, so the transaction's ADD fails
    # after the installation and its grants were already part of it.
    ddb.update_item(
        TableName=plugins_table,
        Key={"plugin_id": {"S": pid}},
        UpdateExpression="SET install_count = :s",
        ExpressionAttributeValues={":s": {"S": "broken"}},
    )
    body = {"plugin_id": pid, "grant": ["tasks:read", "storage:write"]}
    key = {"Idempotency-Key": uid("idem")}
    failed = ws.admin.post("/api/plugins/install", json=body, headers=key)
    assert failed.status_code == 503, failed.text
    assert failed.headers["content-type"].startswith("application/problem+json")

    # Nothing of it was written: no installation, no grant, no subscription, no event.
    assert ws.admin.get("/api/installations").json()["items"] == []
    subs = ddb.query(
        TableName=f"plugyard-{own_stack.stage}-subscriptions",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{ws.workspace_id}#task.completed"}},
    )["Items"]
    assert subs == []
    outbox = ddb.scan(TableName=f"plugyard-{own_stack.stage}-outbox")["Items"]
    assert not [o for o in outbox if ws.workspace_id in o["envelope"]["S"] and "plugin.installed" in o["envelope"]["S"]]
    assert _install_count(ddb, own_stack, pid) == {"S": "broken"}

    # The store recovers; the same request with the same Idempotency-Key installs, grants included.
    ddb.update_item(
        TableName=plugins_table,
        Key={"plugin_id": {"S": pid}},
        UpdateExpression="SET install_count = :n",
        ExpressionAttributeValues={":n": {"N": "0"}},
    )
    retried = ws.admin.post("/api/plugins/install", json=body, headers=key)
    assert retried.status_code == 201, retried.text
    installation_id = retried.json()["installation_id"]
    grants = ddb.query(
        TableName=f"plugyard-{own_stack.stage}-plugin-permissions",
        KeyConditionExpression="installation_id = :i",
        ExpressionAttributeValues={":i": {"S": installation_id}},
    )["Items"]
    assert sorted(g["scope"]["S"] for g in grants) == ["storage:write", "tasks:read"]
    assert _install_count(ddb, own_stack, pid) == {"N": "1"}
    [event] = wait_for(lambda: deliveries(receiver, path, verifier))
    assert event["data"]["installation_id"] == installation_id
    # …and a replay of the same key answers the same installation without installing twice.
    again = ws.admin.post("/api/plugins/install", json=body, headers=key)
    assert again.status_code == 201 and again.json()["installation_id"] == installation_id
    assert _install_count(ddb, own_stack, pid) == {"N": "1"}


def test_a_killed_worker_is_restarted_and_loses_none_of_50_events_in_flight(
    own_stack: LocalStack, ws: Tenant, receiver: Receiver
) -> None:
    path = f"/{uid('kill')}"
    # Deliveries take a moment, so many are in flight when the worker is killed.
    verifier = hook(ws, receiver.plan(path, *[Answer(204, delay_s=0.05)] * 100), ["workspace.tick"])
    sent: list[str] = []
    for n in range(50):
        resp = ws.admin.post("/api/events", json={"type": "workspace.tick", "data": {"n": n}})
        assert resp.status_code == 202, resp.text
        sent.append(resp.json()["id"])
    workers = own_stack.child("workers")
    killed = workers.proc
    wait_for(lambda: receiver.requests_to(path), timeout_s=30, every_s=0.02)
    os.killpg(killed.pid, signal.SIGKILL)  # mid-stream: batches received, some delivered, none finished
    killed.wait()
    arrived = wait_for(
        lambda: (ids := {e["id"] for e in deliveries(receiver, path, verifier)}) >= set(sent) and ids, timeout_s=90
    )
    assert arrived == set(sent)  # every accepted event reached the receiver, and nothing else did
    # Restarted, and running: the supervisor notices the exit within its poll, which can come after the last
    # delivery when the others finished every event before the kill took effect.
    assert wait_for(lambda: workers.proc is not killed and workers.proc.poll() is None, timeout_s=30)
    assert own_stack.fatal is None
    # The rest of the stack never stopped.
    assert all(c.proc.poll() is None for c in own_stack.children)
    assert json.loads(receiver.requests_to(path)[0].body)["type"] == "workspace.tick"
