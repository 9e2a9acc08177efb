"""Hour summaries, without a database: what a batch adds to each (parameter, hour), and
which part of a bucket query the summaries can answer.

A bucket query over a year of 1 Hz samples grouped 31.5 M rows (35 s on the benchmark
machine, beyond the 30 s statement timeout). An hour that lies inside one bucket needs only
its summary; the rest of the span (hours cut by a bucket boundary, the partial hours at
either end, hours without a summary) is still read from the samples and aggregates, so the
answer is the same as from the samples alone.

Times are microseconds since ``POSTGRES_EPOCH``, which is midnight UTC: a whole number of
hours since it is a UTC hour boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from astroshield.telemetry.samples import SampleColumns

HOUR_US = 3_600_000_000
# Narrower buckets than this have most of their hours cut by a boundary: the summaries
# would save little and cost a second statement.
MIN_SUMMARY_BUCKET_US = 4 * HOUR_US
# Beyond this many separate stretches to read from the samples (a parameter sampled in
# short bursts, hours apart), one plain query over the span is cheaper.
MAX_UNCOVERED_STRETCHES = 2_000


@dataclass(frozen=True, slots=True)
class HourSummary:
    """One parameter's samples in [hour_start_us, hour_start_us + 1 h)."""

    parameter_id: int
    hour_start_us: int
    count: int
    min: float
    max: float
    total: float


def summarise_by_hour(samples: SampleColumns) -> list[HourSummary]:
    """What ``samples`` add to each (parameter, hour), ordered by parameter then hour (the
    order every writer takes the summary rows' locks in, so two batches never deadlock)."""
    if not len(samples):
        return []
    parameters = samples.parameter_ids.astype(np.int64)
    hours = samples.times_us // HOUR_US
    order = np.lexsort((hours, parameters))
    parameters, hours, values = parameters[order], hours[order], samples.values[order]
    changes = np.flatnonzero((np.diff(parameters) != 0) | (np.diff(hours) != 0)) + 1
    starts = np.concatenate(([0], changes))
    counts = np.diff(np.append(starts, len(values)))
    minima = np.minimum.reduceat(values, starts)
    maxima = np.maximum.reduceat(values, starts)
    totals = np.add.reduceat(values, starts)
    return [
        HourSummary(
            int(parameters[first]),
            int(hours[first]) * HOUR_US,
            int(count),
            float(low),
            float(high),
            float(total),
        )
        for first, count, low, high, total in zip(
            starts, counts, minima, maxima, totals, strict=True
        )
    ]


def bucket_index(offset_us: int, span_us: int, count: int) -> int:
    """The bucket of a moment ``offset_us`` after the span's start: the same integer
    arithmetic as the database's grouping (``TelemetryRepository._bucket_index``)."""
    return (offset_us * count) // span_us


@dataclass(frozen=True, slots=True)
class SummaryPlan:
    """Which summarised hours answer for themselves (``usable``, by their bucket), and the
    stretches ``[start_us, stop_us)`` that must still be read from samples and aggregates."""

    usable: list[tuple[int, int]]  # (index into the given hours, bucket)
    uncovered: list[tuple[int, int]]


def plan_summary_use(
    start_us: int, stop_us: int, count: int, summary_hours_us: Sequence[int]
) -> SummaryPlan:
    """Split [start_us, stop_us) cut into ``count`` buckets between the summarised hours
    (sorted hour starts) that lie wholly inside one bucket and the stretches left over."""
    span_us = stop_us - start_us
    usable: list[tuple[int, int]] = []
    uncovered: list[tuple[int, int]] = []
    cursor = start_us
    for position, hour_us in enumerate(summary_hours_us):
        hour_end_us = hour_us + HOUR_US
        if hour_us < start_us or hour_end_us > stop_us:
            continue
        first = bucket_index(hour_us - start_us, span_us, count)
        if first != bucket_index(hour_end_us - 1 - start_us, span_us, count):
            continue  # cut by a bucket boundary: its samples go to two buckets
        usable.append((position, first))
        if hour_us > cursor:
            uncovered.append((cursor, hour_us))
        cursor = hour_end_us
    if cursor < stop_us:
        uncovered.append((cursor, stop_us))
    return SummaryPlan(usable, uncovered)
