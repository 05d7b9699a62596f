"""Application metrics: CloudWatch Embedded Metric Format on AWS, an in-memory twin locally and in tests.

Every metric is in namespace ``Plugyard`` with exactly one dimension, ``Stage``: the alarms in
infra/app.yaml name that dimension set, and CloudWatch treats another set (say ``service`` + ``Stage``,
which powertools adds by default when ``POWERTOOLS_SERVICE_NAME`` is set) as a different metric that no
alarm watches. Values are buffered per process and written by ``flush()`` at the end of each Lambda
invocation (one HTTP request, one SQS batch): one EMF JSON line on stdout, which CloudWatch Logs turns
into metrics. Counts are summed per flush; other units keep every value (percentiles stay exact).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from chalicelib.ports import MetricUnit

__all__ = ["NAMESPACE", "EmfMetrics", "InMemoryMetrics"]

NAMESPACE = "Plugyard"
_MAX_VALUES = 100  # EMF: values of one metric in one document


class EmfMetrics:
    """Buffers metrics and prints them as EMF documents (namespace Plugyard, dimension Stage) on flush."""

    def __init__(self, stage: str, *, namespace: str = NAMESPACE, emit: Callable[[str], None] = print) -> None:
        self._stage = stage
        self._namespace = namespace
        self._emit = emit
        self._lock = threading.Lock()
        self._values: dict[str, tuple[MetricUnit, list[float]]] = {}

    def add(self, name: str, value: float = 1, unit: MetricUnit = "Count") -> None:
        with self._lock:
            _, values = self._values.setdefault(name, (unit, []))
            if unit == "Count" and values:
                values[0] += value
            else:
                values.append(float(value))

    def flush(self) -> None:
        with self._lock:
            buffered, self._values = self._values, {}
        if not buffered or is_metrics_disabled():
            return
        # service="" keeps powertools from adding a "service" dimension (from POWERTOOLS_SERVICE_NAME).
        provider = AmazonCloudWatchEMFProvider(namespace=self._namespace, service="")
        for start in range(0, max(len(v) for _, v in buffered.values()), _MAX_VALUES):
            metrics = {
                name: {"Unit": unit, "Value": values[start : start + _MAX_VALUES], "StorageResolution": 60}
                for name, (unit, values) in buffered.items()
                if values[start : start + _MAX_VALUES]
            }
            document = provider.serialize_metric_set(metrics=metrics, dimensions={"Stage": self._stage}, metadata={})
            self._emit(json.dumps(document, separators=(",", ":")))


class InMemoryMetrics:
    """Totals per metric name, kept in the process (local stack, tests); ``flush`` keeps them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._units: dict[str, MetricUnit] = {}

    def add(self, name: str, value: float = 1, unit: MetricUnit = "Count") -> None:
        with self._lock:
            self._sums[name] = self._sums.get(name, 0.0) + value
            self._counts[name] = self._counts.get(name, 0) + 1
            self._units[name] = unit

    def flush(self) -> None:
        """Nothing leaves the process (local stdout stays clean)."""

    def total(self, name: str) -> float:
        """The sum of every value added under ``name`` (0 if none)."""
        with self._lock:
            return self._sums.get(name, 0.0)

    def count(self, name: str) -> int:
        """How many values were added under ``name``."""
        with self._lock:
            return self._counts.get(name, 0)

    def unit(self, name: str) -> MetricUnit | None:
        """The unit ``name`` was last added with."""
        with self._lock:
            return self._units.get(name)
