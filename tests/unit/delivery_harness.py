"""A harness for the deliverer on in-memory fakes: a scripted sender, a movable clock, and a pump.

Time is simulated: the fake queue records each job's delay and the pump advances the clock by it, so
the full 28-hour schedule and the 5-day disabling rule run in milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.memory import InMemoryEventBus, InMemoryWorkQueues
from chalicelib.config import Settings
from chalicelib.container import build_services, in_memory_adapters
from chalicelib.domain.deliveries import DeliveryJob, RetryPolicy, SendResult
from chalicelib.domain.models import Caller, EventEnvelope, RegisterWebhookRequest
from chalicelib.domain.permissions import Role
from chalicelib.services.deliveries import DeliveryService
from unit.conftest import fake_resolver

__all__ = ["URL", "Harness", "MovableClock", "ScriptedSender", "Sent", "fail", "h", "make_harness"]

URL = "https://hooks.example.test/in"


class MovableClock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@dataclass
class Sent:
    url: str
    body: bytes
    headers: dict[str, str]
    at: datetime


@dataclass
class ScriptedSender:
    clock: MovableClock
    plan: list[SendResult] = field(default_factory=list)
    default: SendResult = field(default_factory=lambda: SendResult(status_code=200, response_excerpt="ok"))
    sent: list[Sent] = field(default_factory=list)
    before_send: Callable[[], None] | None = None  # e.g. hold every request until others arrive

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        if self.before_send is not None:
            self.before_send()
        self.sent.append(Sent(url, body, headers, self.clock.now()))
        return self.plan.pop(0) if self.plan else self.default


@dataclass
class Harness:
    svc: DeliveryService
    services: Any
    sender: ScriptedSender
    queues: InMemoryWorkQueues
    clock: MovableClock
    bus: InMemoryEventBus
    caller: Caller
    slept: list[float]

    def register(self, **kw: Any) -> Any:
        req = RegisterWebhookRequest.model_validate({"url": URL, "event_types": ["task.completed"], **kw})
        return self.services.webhooks.register(self.caller, req)

    def event(self, **data: Any) -> EventEnvelope:
        return EventEnvelope(
            id=self.services.adapters.ids.new_id(),
            source="plugyard.host",
            type="task.completed",
            workspace_id=self.caller.workspace_id,
            time=self.clock.now(),
            data=data,
        )

    def dispatch(self, webhook_id: str, event: EventEnvelope | None = None) -> EventEnvelope:
        """What the dispatcher puts on the delivery queue."""
        event = event or self.event()
        self.queues.send([DeliveryJob(workspace_id=self.caller.workspace_id, webhook_id=webhook_id, event=event)])
        return event

    def pump(self, max_steps: int = 10_000) -> list[int]:
        """Run queued jobs in order, advancing the clock by each job's delay; the delays seen."""
        delays: list[int] = []
        for _ in range(max_steps):
            jobs = self.queues.take("delivery")
            if not jobs:
                return delays
            for body, delay in jobs:
                delays.append(delay)
                self.clock.advance(delay)
                self.svc.handle(DeliveryJob.model_validate(body))
        raise AssertionError("the queue never drained")


def make_harness(policy: RetryPolicy | None = None) -> Harness:
    adapters = in_memory_adapters()
    adapters.resolver = fake_resolver
    clock = MovableClock()
    adapters.clock = clock
    sender = ScriptedSender(clock)
    adapters.webhook_sender = sender
    services = build_services(Settings(webhooks_allow_private=False), adapters)
    bus = InMemoryEventBus()
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock.advance(s)

    svc = DeliveryService(
        services.webhooks,
        adapters.webhooks,
        adapters.deliveries,
        adapters.queues,
        sender,
        services.audit,
        clock,
        adapters.ids,
        bus=bus,
        policy=policy or RetryPolicy(),
        rng=random.Random(7),
        sleep=sleep,
    )
    services.deliveries = svc
    ws = "ws-" + adapters.ids.new_id().lower()
    services.auth.create_workspace(ws, ws)
    key = services.auth.issue_key(ws, Role.ADMIN, "admin", created_by="operator").key
    caller = services.auth.authenticate(f"Bearer {key}")
    assert isinstance(adapters.queues, InMemoryWorkQueues)
    return Harness(svc, services, sender, adapters.queues, clock, bus, caller, slept)


@pytest.fixture
def h() -> Harness:
    return make_harness()


def fail(status: int | None = 500, **kw: Any) -> SendResult:
    return SendResult(status_code=status, error=None if status else "ConnectError: refused", **kw)
