"""Metrics: the EMF documents the alarms rely on, and the services that emit them."""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters.metrics import EmfMetrics, InMemoryMetrics
from chalicelib.domain.models import Caller, InstallRequest

from .conftest import World
from .test_services import SLACKISH, pub, slackish  # noqa: F401  (fixtures)


def test_emf_document_has_exactly_the_stage_dimension(monkeypatch: pytest.MonkeyPatch) -> None:
    # powertools would add a "service" dimension from this variable: the alarms would then see nothing
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "plugyard-api")
    lines: list[str] = []
    metrics = EmfMetrics("prod", emit=lines.append)
    metrics.add("DeliveriesFailed")
    metrics.add("DeliveriesFailed", 2)
    metrics.add("InvocationDurationMs", 12.5, "Milliseconds")
    metrics.add("InvocationDurationMs", 40, "Milliseconds")
    metrics.flush()
    (doc,) = [json.loads(line) for line in lines]
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Plugyard"
    assert directive["Dimensions"] == [["Stage"]]
    assert doc["Stage"] == "prod" and "service" not in doc
    assert doc["DeliveriesFailed"] == [3.0]  # counts are summed per flush
    assert doc["InvocationDurationMs"] == [12.5, 40.0]  # other units keep every value
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {"DeliveriesFailed": "Count", "InvocationDurationMs": "Milliseconds"}
    metrics.flush()
    assert len(lines) == 1  # nothing buffered, nothing written


def test_emf_splits_more_than_a_hundred_values() -> None:
    lines: list[str] = []
    metrics = EmfMetrics("dev", emit=lines.append)
    for i in range(150):
        metrics.add("InvocationPeakMemoryMb", i, "Megabytes")
    metrics.flush()
    docs = [json.loads(line) for line in lines]
    assert [len(d["InvocationPeakMemoryMb"]) for d in docs] == [100, 50]


def test_in_memory_metrics_keep_totals() -> None:
    metrics = InMemoryMetrics()
    metrics.add("CacheHits")
    metrics.add("CacheHits")
    metrics.flush()
    assert (metrics.total("CacheHits"), metrics.count("CacheHits"), metrics.total("nope")) == (2, 2, 0)


def test_install_and_catalog_reads_are_counted(world: World, pub: Caller, slackish: str) -> None:  # noqa: F811
    metrics = world.adapters.metrics
    assert isinstance(metrics, InMemoryMetrics)
    world.services.installs.install(
        pub, InstallRequest(plugin_id=slackish, grant=SLACKISH["permissions"], config={"channel": "#ops"})
    )
    assert metrics.total("Installs") == 1
    before = metrics.total("CacheHits") + metrics.total("CacheMisses")
    world.services.marketplace.cache.plugins()
    world.services.marketplace.cache.plugins()
    assert metrics.total("CacheHits") + metrics.total("CacheMisses") == before + 2
    assert metrics.total("CacheHits") >= 1
