"""Webhook delivery end to end on moto: real SQS, DynamoDB and KMS, a real HTTP receiver on loopback.

Each test gets its own delivery queue (with a DLQ) so nothing else consumes its messages; the retry
schedule is compressed to seconds. Every request the receiver gets is verified with the
``standardwebhooks`` library exactly as a receiver would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from chalicelib.adapters.messaging import SqsWorkQueues
from chalicelib.adapters.webhook_http import HttpxWebhookSender
from chalicelib.config import Settings
from chalicelib.container import Services, aws_adapters, build_services
from chalicelib.container.events import queue_names
from chalicelib.domain.deliveries import DeliveryJob, RetryPolicy
from chalicelib.domain.messages import InvokeMessage
from chalicelib.domain.models import Caller, EventEnvelope, RegisterWebhookRequest
from chalicelib.domain.permissions import Role
from chalicelib.local.receiver import Answer, Receiver
from chalicelib.local.stack import ROOT, LocalStack
from chalicelib.local.workers import QueuePoller
from chalicelib.workers.deliverer import handle_delivery_batch

pytestmark = pytest.mark.stack

FAST = RetryPolicy(schedule_s=(0, 1, 1, 2), jitter=0.0)


@dataclass
class Env:
    services: Services
    sqs: Any
    queue_url: str
    dlq_url: str
    caller: Caller
    receiver: Receiver
    settings: Settings
    poller: QueuePoller

    def register(self, url: str, **kw: Any) -> Any:
        req = RegisterWebhookRequest.model_validate({"url": url, "event_types": ["task.completed"], **kw})
        return self.services.webhooks.register(self.caller, req)

    def dispatch(self, webhook_id: str, **data: Any) -> EventEnvelope:
        """Exactly what the dispatcher puts on the delivery queue."""
        event = EventEnvelope(
            id=self.services.adapters.ids.new_id(),
            source="plugyard.host",
            type="task.completed",
            workspace_id=self.caller.workspace_id,
            time=datetime.now(UTC),
            data=data,
        )
        body = {
            "kind": "webhook",
            "workspace_id": self.caller.workspace_id,
            "webhook_id": webhook_id,
            "event": json.loads(event.model_dump_json()),
        }
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))
        return event

    def status(self, webhook_id: str, delivery_id: str) -> str:
        d = self.services.adapters.deliveries.get(webhook_id, delivery_id)
        return d.status if d else "missing"

    def run_until_settled(self, pairs: list[tuple[str, str]], timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poller.run_once()
            if all(self.status(w, d) in ("delivered", "failed") for w, d in pairs):
                return
        raise AssertionError({(w, d): self.status(w, d) for w, d in pairs})


@pytest.fixture
def env(stack: LocalStack) -> Iterator[Env]:
    settings = Settings(
        stage=stack.stage,
        aws_endpoint_url=stack.moto_url,
        artifacts_bucket=stack.env().get("PLUGYARD_ARTIFACTS_BUCKET"),
        webhooks_allow_private=True,
    )
    sqs = stack.client("sqs")
    name = f"wh-test-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    adapters = aws_adapters(settings)
    adapters.queues = SqsWorkQueues(sqs, {**queue_names(settings), "delivery": name, "delivery-dlq": f"{name}-dlq"})
    adapters.webhook_sender = HttpxWebhookSender(allow_private=True, connect_timeout_s=1, total_timeout_s=1.5)
    services = build_services(settings, adapters)
    services.deliveries.policy = FAST
    ws = f"ws-{uuid.uuid4().hex[:10]}"
    services.auth.create_workspace(ws, ws)
    key = services.auth.issue_key(ws, Role.ADMIN, "admin", created_by="operator").key
    caller = services.auth.authenticate(f"Bearer {key}")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # What make run's workers do with the queue: the deliverer's Lambda handler on each received batch.
    poller = QueuePoller(
        sqs, queue_url, arn, lambda event, ctx: handle_delivery_batch(event, ctx, services), threading.Event()
    )
    with Receiver() as receiver:
        yield Env(services, sqs, queue_url, dlq_url, caller, receiver, settings, poller)


def test_fault_receivers_every_event_ends_delivered_or_failed_with_its_attempts(env: Env) -> None:
    r = env.receiver
    scenarios: dict[str, tuple[list[Answer], str, int]] = {
        # path: (planned answers, expected status, expected attempts)
        "/ok": ([], "delivered", 1),
        "/flaky": ([Answer(500), Answer(503)], "delivered", 3),
        "/timeout": ([Answer(200, delay_s=2.5)], "delivered", 2),
        "/reset": ([Answer(reset=True), Answer(reset=True)], "delivered", 3),
        "/slow-body": ([Answer(200, body=b"x" * 30, drip_s=0.1)], "delivered", 2),
        "/retry-after": ([Answer(429, headers={"Retry-After": "3"})], "delivered", 2),
        "/redirect": ([Answer(302, headers={"Location": "/redirect-target"})], "delivered", 2),
        "/always-500": ([Answer(500, body=b"boom")] * 10, "failed", 4),
        "/gone": ([Answer(410)], "failed", 1),
    }
    hooks: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    for path, (answers, _, _) in scenarios.items():
        hooks[path] = env.register(r.plan(path, *answers))
        event = env.dispatch(hooks[path].webhook_id, scenario=path)
        pairs.append((hooks[path].webhook_id, event.id))
    env.run_until_settled(pairs)

    for (path, (_, want_status, want_attempts)), (wid, did) in zip(scenarios.items(), pairs, strict=True):
        detail = env.services.deliveries.get(env.caller, wid, did)
        assert (detail.status, detail.attempt_count) == (want_status, want_attempts), (path, detail)
        assert len(detail.attempts) == want_attempts
        # every request the endpoint got is signed for its secret, with the delivery's id
        got = r.requests_to(path)
        assert len(got) >= want_attempts - (1 if path == "/reset" else 0)
        for req in got:
            payload = StandardWebhook(hooks[path].secret).verify(req.body, req.headers)
            assert payload["id"] == did and req.headers["webhook-id"] == did
    by_path = {p: env.services.deliveries.get(env.caller, w, d) for p, (w, d) in zip(scenarios, pairs, strict=True)}
    assert "timeout" in (by_path["/timeout"].attempts[0].error or "")
    assert by_path["/reset"].attempts[0].error and by_path["/reset"].attempts[0].status_code is None
    assert "timeout" in (by_path["/slow-body"].attempts[0].error or "")
    assert by_path["/always-500"].attempts[-1].response_excerpt == "boom"
    assert by_path["/redirect"].attempts[0].status_code == 302 and r.requests_to("/redirect-target") == []
    ra = r.requests_to("/retry-after")
    assert ra[1].at - ra[0].at >= 2.9
    assert env.services.webhooks.get(env.caller, hooks["/gone"].webhook_id).state == "disabled"
    assert by_path["/ok"].attempts[0].address == "127.0.0.1"


def test_private_addresses_are_refused_at_delivery_time_unless_allowed(env: Env) -> None:
    hook = env.register(env.receiver.plan("/private"))
    strict = HttpxWebhookSender(allow_private=False)
    env.services.deliveries._sender = strict  # the same service, with production's setting
    try:
        event = env.dispatch(hook.webhook_id)
        env.run_until_settled([(hook.webhook_id, event.id)], timeout_s=30)
    finally:
        env.services.deliveries._sender = env.services.adapters.webhook_sender  # type: ignore[assignment]
    detail = env.services.deliveries.get(env.caller, hook.webhook_id, event.id)
    assert detail.status == "failed" and all("refused" in (a.error or "") for a in detail.attempts)
    assert env.receiver.requests_to("/private") == []


_WORKER = """
import sys, threading
from chalicelib.adapters.aws import aws_client
from chalicelib.adapters.messaging import SqsWorkQueues
from chalicelib.config import Settings
from chalicelib.container import aws_adapters, build_services
from chalicelib.container.events import queue_names
from chalicelib.local.workers import QueuePoller
from chalicelib.workers.deliverer import handle_delivery_batch
settings = Settings()
adapters = aws_adapters(settings)
sqs = aws_client(settings, "sqs")
name = sys.argv[1]
adapters.queues = SqsWorkQueues(sqs, {**queue_names(settings), "delivery": name, "delivery-dlq": name + "-dlq"})
services = build_services(settings, adapters)
url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
handler = lambda event, ctx: handle_delivery_batch(event, ctx, services)
poller = QueuePoller(sqs, url, arn, handler, threading.Event(), visibility_s=4)
print("ready", flush=True)
poller.run()
"""


def test_a_deliverer_killed_mid_batch_loses_nothing(env: Env, stack: LocalStack) -> None:
    path = env.receiver.plan("/slow", *[Answer(204, delay_s=1.2)] * 8)
    hook = env.register(path)
    events = [env.dispatch(hook.webhook_id, n=i) for i in range(8)]
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, env.queue_url.rsplit("/", 1)[-1]],
        cwd=ROOT,
        env={**stack.env(), "PLUGYARD_WEBHOOKS_ALLOW_PRIVATE": "true"},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 20
        while not env.receiver.requests_to("/slow") and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(worker.pid, signal.SIGKILL)  # mid-batch: requests in flight, nothing recorded yet
    finally:
        worker.wait(timeout=10)
    assert env.receiver.requests_to("/slow")
    assert all(env.status(hook.webhook_id, e.id) in ("missing", "pending") for e in events)
    env.run_until_settled([(hook.webhook_id, e.id) for e in events], timeout_s=60)
    for e in events:
        assert env.status(hook.webhook_id, e.id) == "delivered"
    ids = [req.headers["webhook-id"] for req in env.receiver.requests_to("/slow")]
    assert set(ids) == {e.id for e in events}
    # at least once: a request in flight when the worker died is made again, never more than that
    assert all(1 <= ids.count(e.id) <= 2 for e in events)
    assert env.sqs.receive_message(QueueUrl=env.dlq_url, WaitTimeSeconds=0).get("Messages") is None


def test_rotation_overlap_and_v1a_over_http(env: Env) -> None:
    from chalicelib.domain.webhook_signatures import verify_v1a

    v1 = env.register(env.receiver.plan("/rot"))
    rotated = env.services.webhooks.rotate_secret(env.caller, v1.webhook_id)
    v1a = env.register(env.receiver.plan("/ed"), signature_scheme="v1a")
    e1 = env.dispatch(v1.webhook_id)
    e2 = env.dispatch(v1a.webhook_id)
    env.run_until_settled([(v1.webhook_id, e1.id), (v1a.webhook_id, e2.id)])
    [rot] = env.receiver.requests_to("/rot")
    StandardWebhook(v1.secret).verify(rot.body, rot.headers)
    StandardWebhook(rotated.secret).verify(rot.body, rot.headers)
    [ed] = env.receiver.requests_to("/ed")
    verify_v1a(v1a.public_key, ed.body, ed.headers)


def test_the_one_sqs_adapter_puts_each_message_on_its_own_queue(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    names = {p: f"wh-{p}-{uuid.uuid4().hex[:8]}" for p in ("invoke", "delivery")}
    urls = {p: sqs.create_queue(QueueName=n)["QueueUrl"] for p, n in names.items()}
    queues = SqsWorkQueues(sqs, names)
    event = EventEnvelope(
        id="01JTESTEVENT0000000000000",
        source="plugyard.host",
        type="task.completed",
        workspace_id="ws-routing",
        time=datetime.now(UTC),
        data={"note": None},
    )
    invokes = [InvokeMessage(workspace_id=event.workspace_id, installation_id=f"i-{n}", event=event) for n in (1, 2)]
    job = DeliveryJob(workspace_id=event.workspace_id, webhook_id="wh-1", event=event)
    queues.send([invokes[0], job, invokes[1]])

    def bodies(url: str) -> list[str]:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [m["Body"] for m in out.get("Messages", [])]

    assert sorted(InvokeMessage.from_body(b).installation_id for b in bodies(urls["invoke"])) == ["i-1", "i-2"]
    [delivery] = bodies(urls["delivery"])
    assert DeliveryJob.from_body(delivery) == job and json.loads(delivery)["event"]["data"] == {"note": None}


def test_an_unreadable_delivery_message_goes_to_the_dlq_at_once_with_its_reason(env: Env) -> None:
    env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=json.dumps({"kind": "webhook"}))
    assert env.poller.run_once() == 1
    out = env.sqs.receive_message(QueueUrl=env.dlq_url, WaitTimeSeconds=1, MessageAttributeNames=["All"])
    [dead] = out["Messages"]
    attrs = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attrs["plugyard-error-code"] == "malformed-message" and attrs["plugyard-source-queue"] == "delivery"
    assert "delivery message unreadable" in attrs["plugyard-error-reason"]
    # handled, not retried: the record was deleted from its queue, not left to come back
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    left = env.sqs.get_queue_attributes(QueueUrl=env.queue_url, AttributeNames=names)["Attributes"]
    assert left == dict.fromkeys(names, "0")
