"""Hour summaries in memory: what a batch adds per (parameter, hour), and the split of a
bucket query between summarised hours and stretches read from the samples."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict

import numpy as np

from astroshield.telemetry.samples import SampleColumns
from astroshield.telemetry.summaries import (
    HOUR_US,
    bucket_index,
    plan_summary_use,
    summarise_by_hour,
)


def test_a_batch_is_summarised_per_parameter_and_utc_hour() -> None:
    rng = random.Random(7)
    # Times on both sides of the epoch (negative microseconds floor to the earlier hour).
    records = [
        (rng.choice((3, 11, 5)), rng.randrange(-5 * HOUR_US, 9 * HOUR_US), rng.uniform(-50, 50))
        for _ in range(2_000)
    ]
    expected: dict[tuple[int, int], list[float]] = defaultdict(list)
    for parameter, time_us, value in records:
        expected[(parameter, math.floor(time_us / HOUR_US) * HOUR_US)].append(value)

    summaries = summarise_by_hour(SampleColumns.of(records))

    keys = [(s.parameter_id, s.hour_start_us) for s in summaries]
    assert keys == sorted(expected)  # lock order: parameter, then hour
    for summary in summaries:
        values = expected[(summary.parameter_id, summary.hour_start_us)]
        assert summary.count == len(values)
        assert (summary.min, summary.max) == (min(values), max(values))
        assert math.isclose(summary.total, math.fsum(values), rel_tol=1e-12, abs_tol=1e-9)


def test_an_empty_batch_has_no_summaries() -> None:
    empty = SampleColumns(np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64))
    assert summarise_by_hour(empty) == []


def test_usable_hours_and_uncovered_stretches_tile_the_span() -> None:
    rng = random.Random(3)
    for _ in range(200):
        start = rng.randrange(0, 50 * HOUR_US)
        stop = start + rng.randrange(HOUR_US // 2, 400 * HOUR_US)
        count = rng.randrange(1, 60)
        first_hour = start // HOUR_US - 2
        hours = sorted(
            hour * HOUR_US for hour in range(first_hour, stop // HOUR_US + 3) if rng.random() < 0.8
        )

        plan = plan_summary_use(start, stop, count, hours)

        pieces = [(hours[i], hours[i] + HOUR_US) for i, _ in plan.usable] + plan.uncovered
        pieces.sort()
        assert pieces[0][0] == start and pieces[-1][1] == stop
        assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
        span = stop - start
        for position, bucket in plan.usable:
            low, high = hours[position] - start, hours[position] + HOUR_US - 1 - start
            assert bucket_index(low, span, count) == bucket_index(high, span, count) == bucket


def test_an_hour_cut_by_a_bucket_boundary_is_read_from_the_samples() -> None:
    # Two buckets of 90 minutes each: the second hour straddles the boundary at 1.5 h.
    hours = [0, HOUR_US, 2 * HOUR_US]
    plan = plan_summary_use(0, 3 * HOUR_US, 2, hours)
    assert plan.usable == [(0, 0), (2, 1)]
    assert plan.uncovered == [(HOUR_US, 2 * HOUR_US)]
