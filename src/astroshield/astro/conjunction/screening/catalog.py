"""Screen a catalog: validate, apply the shell filter, plan the work units, run them locally
or on a Dask cluster, and merge their results into one :class:`ScreeningResult`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from astroshield.astro.conjunction.screening.algorithm import plan_work_units
from astroshield.astro.conjunction.screening.dask_cluster import run_units_on_cluster
from astroshield.astro.conjunction.screening.local import run_units
from astroshield.astro.conjunction.screening.shells import orbit_shells, overlapping_pairs
from astroshield.astro.conjunction.screening.types import (
    ConjunctionEvent,
    Failure,
    FloatArray,
    ProgressCallback,
    RawEvent,
    ScreeningResult,
    ScreeningStats,
    SkippedObject,
    UnitResult,
    UnitRuns,
)
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.propagation import DEFAULT_CHUNK_SIZE, SGP4ErrorCode
from astroshield.astro.ids import normalize_catalog_number

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["screen_catalog"]

# Events of one pair closer in TCA than this are one minimum found twice.
_DUPLICATE_TCA_S = 1e-3


class _Selection(NamedTuple):
    """The objects that go on to propagation and the primary's index among them, if any."""

    objects: list[ElementSet]
    primary_index: int | None


def screen_catalog(
    elements: Sequence[ElementSet],
    start: datetime,
    duration: timedelta,
    threshold_km: float,
    *,
    primary: str | None = None,
    workers: int | None = None,
    knot_step_s: float = 120.0,
    substep_s: float = 30.0,
    slab_s: float = 3600.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    scheduler: str | Client | None = None,
    scheduler_timeout_s: float = 10.0,
) -> ScreeningResult:
    """Find close approaches (≤ ``threshold_km``) in ``[start, start + duration]``.

    An approach whose minimum lies beyond a window edge (the pair is within the threshold at
    that edge, still closing at the end or already receding at the start) is an event with
    ``edge`` ``"end"``/``"start"`` whose TCA and miss are the values at the edge.

    All-vs-all, or one-vs-all when ``primary`` (a catalog number) is given. Events are sorted
    by TCA, then object1, then object2 (catalog numbers compared as integers); all-vs-all
    events have object1 < object2, one-vs-all events have the primary as object1.
    ``workers`` defaults to the CPU count; the result does not depend on it. ``progress``
    is called with (work units done, total work units).

    ``scheduler`` (a Dask scheduler address such as ``tcp://host:8786``, or a connected
    ``distributed.Client``) runs the work units on that cluster instead of local processes;
    it excludes ``workers``. The events, skipped objects and stage counts are identical to a
    local run; ``stats.workers`` is the cluster's thread count (at most one per unit). A
    client created from an address is closed afterwards, a client passed in is left open.
    :class:`SchedulerUnreachableError` when the address does not answer within
    ``scheduler_timeout_s``; :class:`WorkUnitFailedError`, naming the unit, when a unit
    fails on the cluster. Needs the ``distributed`` package only on this path.
    """
    _check_arguments(start, duration, threshold_km, (knot_step_s, substep_s, slab_s))
    if scheduler is not None and workers is not None:
        raise ValueError("give workers (local processes) or scheduler (Dask), not both")
    if not scheduler_timeout_s > 0.0:
        raise ValueError("scheduler_timeout_s must be positive")
    start = start.astimezone(UTC)
    _check_unique(elements)
    stats = ScreeningStats(objects=len(elements))
    shells = orbit_shells(elements, start, start + duration, threshold_km)
    selection = _select(elements, shells, primary, stats)
    if len(selection.objects) < 2:
        return ScreeningResult(events=[], skipped=[], stats=stats)
    units = plan_work_units(
        selection.objects,
        start,
        duration,
        threshold_km,
        primary_index=selection.primary_index,
        knot_step_s=knot_step_s,
        substep_s=substep_s,
        slab_s=slab_s,
        chunk_size=chunk_size,
    )
    if scheduler is None:
        worker_count = workers if workers is not None else (os.cpu_count() or 1)
        run = UnitRuns(run_units(units, worker_count, progress), worker_count)
    else:
        run = run_units_on_cluster(units, scheduler, scheduler_timeout_s, progress)
    stats.work_units, stats.workers = len(units), max(1, min(run.workers, len(units)))
    return _merge(selection.objects, start, run.results, stats)


def _check_arguments(
    start: datetime, duration: timedelta, threshold_km: float, steps: tuple[float, float, float]
) -> None:
    if start.tzinfo is None or start.utcoffset() != timedelta(0):
        raise ValueError(f"start {start!r} must be timezone-aware UTC")
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if not threshold_km > 0.0:
        raise ValueError("threshold_km must be positive")
    if min(steps) <= 0.0:
        raise ValueError("knot_step_s, substep_s and slab_s must be positive")


def _check_unique(elements: Sequence[ElementSet]) -> None:
    numbers = [item.catalog_number for item in elements]
    if len(set(numbers)) != len(numbers):
        raise ValueError("catalog numbers must be unique")


def _select(
    elements: Sequence[ElementSet], shells: FloatArray, primary: str | None, stats: ScreeningStats
) -> _Selection:
    """All objects, or the primary and those whose shells overlap its shell; counts in stats."""
    if primary is None:
        stats.pairs_considered = len(elements) * (len(elements) - 1) // 2
        stats.pairs_after_shell_filter = overlapping_pairs(shells)
        stats.objects_screened = len(elements)
        return _Selection(list(elements), None)
    numbers = [item.catalog_number for item in elements]
    wanted = normalize_catalog_number(primary)
    if wanted not in numbers:
        raise ValueError(f"primary {primary!r} is not in the catalog")
    p = numbers.index(wanted)
    overlap = (shells[:, 0] <= shells[p, 1]) & (shells[:, 1] >= shells[p, 0])
    overlap[p] = False
    selected = [elements[p]] + [elements[int(k)] for k in np.flatnonzero(overlap)]
    stats.pairs_considered = len(elements) - 1
    stats.pairs_after_shell_filter = len(selected) - 1
    stats.objects_screened = len(selected)
    return _Selection(selected, 0)


def _utc_ms(start: datetime, seconds: float) -> datetime:
    return start + timedelta(milliseconds=round(seconds * 1000.0))


def _merge(
    objects: Sequence[ElementSet],
    start: datetime,
    unit_results: list[UnitResult],
    stats: ScreeningStats,
) -> ScreeningResult:
    """One result from the units' results: failures, events and stage counts combined."""
    failures = _first_failures(unit_results)
    skipped = [
        SkippedObject(
            catalog_number=objects[index].catalog_number,
            code=failure.code,
            reason=SGP4ErrorCode(failure.code).reason,
            first_failure=_utc_ms(start, failure.seconds),
        )
        for index, failure in sorted(
            failures.items(), key=lambda item: int(objects[item[0]].catalog_number)
        )
    ]
    events = _events(objects, start, unit_results, failures)
    keys = [unit_result.candidate_pair_keys for unit_result in unit_results]
    stats.candidate_pairs = len(np.unique(np.concatenate(keys))) if keys else 0
    stats.candidate_intervals = sum(item.candidate_intervals for item in unit_results)
    stats.hermite_minima = sum(item.hermite_minima for item in unit_results)
    stats.refined = sum(item.refined for item in unit_results)
    stats.events = len(events)
    stats.edge_events = sum(event.edge is not None for event in events)
    return ScreeningResult(events=events, skipped=skipped, stats=stats)


def _first_failures(unit_results: list[UnitResult]) -> dict[int, Failure]:
    """The earliest SGP4 failure of each object over all units."""
    failures: dict[int, Failure] = {}
    for unit_result in unit_results:
        for index, failure in unit_result.failures.items():
            if index not in failures or failure.seconds < failures[index].seconds:
                failures[index] = failure
    return failures


def _events(
    objects: Sequence[ElementSet],
    start: datetime,
    unit_results: list[UnitResult],
    failures: dict[int, Failure],
) -> list[ConjunctionEvent]:
    """Events of objects that never failed, duplicates dropped, sorted by (TCA, numbers)."""
    raw = [item for unit_result in unit_results for item in unit_result.events]
    raw = [item for item in raw if item.index1 not in failures and item.index2 not in failures]
    raw.sort(key=lambda item: (item.index1, item.index2, item.tca_s))
    events: list[ConjunctionEvent] = []
    previous: RawEvent | None = None
    for item in raw:
        if previous is not None and _same_minimum(previous, item):
            continue
        previous = item
        events.append(
            ConjunctionEvent(
                object1=objects[item.index1].catalog_number,
                object2=objects[item.index2].catalog_number,
                tca=_utc_ms(start, item.tca_s),
                miss_distance_km=item.miss_km,
                relative_speed_km_s=item.speed_km_s,
                miss_rtn_km=(item.rtn_r_km, item.rtn_t_km, item.rtn_n_km),
                edge=item.edge,
            )
        )
    events.sort(key=lambda event: (event.tca, int(event.object1), int(event.object2)))
    return events


def _same_minimum(previous: RawEvent, item: RawEvent) -> bool:
    """A minimum on a slab or sub-interval boundary can be bracketed from both sides."""
    return (
        previous.index1 == item.index1
        and previous.index2 == item.index2
        and item.tca_s - previous.tca_s < _DUPLICATE_TCA_S
    )
