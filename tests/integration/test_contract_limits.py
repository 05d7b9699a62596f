"""One contract for the invocation rate limits, two stores: in memory and the meta table on the moto server.

Two limiters on one store stand for two processes (two API processes, or the API and a worker): the limit
holds across them only if the counting is shared and atomic.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from chalicelib.adapters import dynamo, memory
from chalicelib.domain.errors import TooManyRequestsError
from chalicelib.services.limits import InvocationLimiter, LimitSettings

SETTINGS = LimitSettings(installation_rate=2.5, installation_burst=5, plugin_rate=4.0, plugin_burst=8)
T0 = 1_800_000_000.0  # a window boundary: 2 s windows


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of store handles: every handle of one test sees the same counters (one table)."""
    if request.param == "memory":
        shared = memory.InMemoryRateCounters()
        return lambda: shared
    settings = request.getfixturevalue("operator").settings

    def handle() -> Any:
        client = boto3.client(
            "dynamodb",
            endpoint_url=settings.aws_endpoint_url,
            region_name=settings.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return dynamo.DynamoRateCounters(client, settings.table_name("meta"))

    return handle


def u(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admitted(limiter: InvocationLimiter, installation: str, plugin: str) -> bool:
    try:
        with limiter.admit(installation, plugin):
            return True
    except TooManyRequestsError as exc:
        assert exc.extensions["limit"] == "rate"
        return False


def test_an_installation_gets_its_burst_per_window_across_two_processes(store: Callable[[], Any]) -> None:
    clock, plugin, inst = Clock(), u("p"), u("i")
    a, b = InvocationLimiter(SETTINGS, store(), clock=clock), InvocationLimiter(SETTINGS, store(), clock=clock)
    results = [admitted(a if i % 2 else b, inst, plugin) for i in range(7)]
    assert results == [True] * 5 + [False] * 2
    clock.now += 0.5
    with pytest.raises(TooManyRequestsError) as refused, a.admit(inst, plugin):
        pass
    assert refused.value.extensions["retry_after_s"] == 2  # ceil(1.5 s to the next window)
    clock.now = T0 + SETTINGS.window_s  # the next window: a full burst again (refusals counted nothing)
    assert [admitted(b, inst, plugin) for _ in range(6)] == [True] * 5 + [False]


def test_a_plugin_is_limited_across_its_installations_and_processes(store: Callable[[], Any]) -> None:
    clock, plugin = Clock(), u("p")
    limiters = [InvocationLimiter(SETTINGS, store(), clock=clock) for _ in range(2)]
    results = [admitted(limiters[i % 2], u("i"), plugin) for i in range(10)]
    assert results == [True] * 8 + [False] * 2
    assert admitted(limiters[0], u("i"), u("other-plugin"))  # other plugins are not affected


def test_concurrent_callers_never_exceed_the_limit(store: Callable[[], Any]) -> None:
    clock, plugin, inst = Clock(), u("p"), u("i")
    limiters = [InvocationLimiter(SETTINGS, store(), clock=clock) for _ in range(4)]
    outcomes: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def call(i: int) -> None:
        start.wait()
        for _ in range(3):
            ok = admitted(limiters[i % 4], inst, plugin)
            with lock:
                outcomes.append(ok)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 24 and outcomes.count(True) == SETTINGS.installation_burst


def test_limits_that_disagree_on_the_window_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="burst / rate"):
        LimitSettings(installation_rate=10, installation_burst=20, plugin_rate=50, plugin_burst=200)
