"""Publisher analytics: per-version counters and a histogram of invocation durations.

Counters are added to where installs, uninstalls and invocations are written (atomic ``ADD``s), never
computed by scanning records. Durations go into logarithmic buckets, four per doubling (each ~19% wide), so
p50 and p99 come from a fixed number of counters; a percentile is reported as the upper bound of its bucket.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

__all__ = [
    "BUCKETS_PER_DOUBLING",
    "MAX_BUCKET",
    "PluginStats",
    "VersionCounters",
    "VersionStats",
    "bucket_of",
    "bucket_upper_ms",
    "percentile",
    "version_stats",
]

BUCKETS_PER_DOUBLING = 4
# 2 ** (96 / 4) ms is about 4.6 hours: longer than any invocation may run; longer ones land in the last bucket.
MAX_BUCKET = 96


def bucket_of(duration_ms: float) -> int:
    """The histogram bucket of a duration: 0 holds everything up to 1 ms."""
    if duration_ms <= 1:
        return 0
    return min(MAX_BUCKET, math.ceil(math.log2(duration_ms) * BUCKETS_PER_DOUBLING))


def bucket_upper_ms(bucket: int) -> float:
    """The largest duration a bucket holds."""
    return float(2 ** (bucket / BUCKETS_PER_DOUBLING))


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The ``q`` quantile (0 < q <= 1) as its bucket's upper bound in ms; None without any duration."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return round(bucket_upper_ms(bucket), 1)
    raise AssertionError("unreachable: the ranks add up to the total")


class VersionCounters(BaseModel):
    """The stored counters of one version."""

    version: str
    installs: int = 0
    uninstalls: int = 0
    invocations: int = 0
    errors: int = 0
    durations: dict[int, int] = Field(default_factory=dict, description="bucket → invocations")


class VersionStats(BaseModel):
    """What a publisher sees of one version of its plugin."""

    version: str
    installs: int = Field(description="New installations of this version")
    uninstalls: int = Field(description="Installations removed while on this version")
    invocations: int
    errors: int = Field(description="Invocations that did not succeed (failed, timed out, crashed, …)")
    p50_ms: float | None = Field(description="Median duration (upper bound of its ~19%-wide bucket)")
    p99_ms: float | None = Field(description="99th percentile duration (upper bound of its bucket)")


class PluginStats(BaseModel):
    """Per-version analytics of one of the caller's plugins, newest version first."""

    plugin_id: str
    versions: list[VersionStats]


def version_stats(counters: VersionCounters) -> VersionStats:
    """The publisher's view of a version's counters."""
    return VersionStats(
        version=counters.version,
        installs=counters.installs,
        uninstalls=counters.uninstalls,
        invocations=counters.invocations,
        errors=counters.errors,
        p50_ms=percentile(counters.durations, 0.5),
        p99_ms=percentile(counters.durations, 0.99),
    )
