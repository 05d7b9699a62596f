"""Duration percentiles from a logarithmic histogram: never below the true figure, at most one bucket above."""

from __future__ import annotations

import math
import random

from chalicelib.domain.stats import VersionCounters, bucket_of, bucket_upper_ms, percentile, version_stats


def test_every_duration_lies_within_its_bucket() -> None:
    for ms in (0.0, 0.5, 1.0, 1.01, 7.3, 100.0, 999.9, 60_000.0):
        b = bucket_of(ms)
        assert ms <= bucket_upper_ms(b)
        assert b == 0 or bucket_upper_ms(b - 1) < ms


def test_percentiles_are_the_nearest_rank_rounded_up_to_its_bucket() -> None:
    rng = random.Random(7)
    durations = sorted(rng.lognormvariate(3, 1) for _ in range(1000))
    hist: dict[int, int] = {}
    for ms in durations:
        hist[bucket_of(ms)] = hist.get(bucket_of(ms), 0) + 1
    for q in (0.5, 0.99):
        true = durations[math.ceil(q * len(durations)) - 1]
        reported = percentile(hist, q)
        assert reported is not None and true <= reported + 0.05 <= true * 1.19 + 0.1


def test_a_version_without_invocations_has_no_percentiles() -> None:
    view = version_stats(VersionCounters(version="1.0.0", installs=3, uninstalls=1))
    assert (view.installs, view.uninstalls, view.invocations, view.p50_ms, view.p99_ms) == (3, 1, 0, None, None)
    assert percentile({}, 0.5) is None
