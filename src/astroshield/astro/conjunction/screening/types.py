"""The values a screening run passes between its stages, runners and callers.

Work units and their results cross process (and machine) boundaries, so every type here is
picklable; arrays stay numpy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.propagation import DEFAULT_CHUNK_SIZE

__all__ = [
    "ConjunctionEvent",
    "Failure",
    "FloatArray",
    "IntArray",
    "ProgressCallback",
    "RawEvent",
    "ScreeningResult",
    "ScreeningStats",
    "SkippedObject",
    "UnitResult",
    "UnitRuns",
    "WindowEdge",
    "WorkUnit",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# Called with (work units done, total work units).
ProgressCallback = Callable[[int, int], None]
# Which end of the window an approach is cut off by: its minimum lies before the start
# ("start": the pair is within the threshold and receding there) or after the end ("end":
# within the threshold and still closing there).
WindowEdge = Literal["start", "end"]


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class ConjunctionEvent:
    """One close approach. ``miss_rtn_km`` is r2 - r1 in object1's RTN frame at TCA.

    ``edge`` is ``None`` for a minimum inside the window. For ``"start"``/``"end"`` the true
    minimum lies outside the window and ``tca``/``miss_distance_km`` (and speed, RTN) are the
    values at that window edge: the closest the pair comes within the window, not its TCA.
    """

    object1: str
    object2: str
    tca: datetime
    miss_distance_km: float
    relative_speed_km_s: float
    miss_rtn_km: tuple[float, float, float]
    edge: WindowEdge | None = None


@dataclass(frozen=True, slots=True)
class SkippedObject:
    """An object left out because SGP4 failed for it (at init or at some time in the window)."""

    catalog_number: str
    code: int
    reason: str
    first_failure: datetime


@dataclass(slots=True)
class ScreeningStats:
    """Counts of what each stage let through (summed over work units)."""

    objects: int = 0
    objects_screened: int = 0
    pairs_considered: int = 0
    pairs_after_shell_filter: int = 0
    candidate_pairs: int = 0
    candidate_intervals: int = 0
    hermite_minima: int = 0
    refined: int = 0
    events: int = 0
    edge_events: int = 0
    work_units: int = 0
    workers: int = 1


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """Events sorted by (TCA, object1, object2); skipped objects sorted by catalog number."""

    events: list[ConjunctionEvent]
    skipped: list[SkippedObject]
    stats: ScreeningStats


# ---------------------------------------------------------------------------- work units


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One time slab of a screening run; all fields picklable.

    Times are seconds from ``start``; ``slab_start_s``/``slab_stop_s`` lie on the global knot
    grid, so a unit gives the same knots (and results) however the window is split.
    ``primary_index`` set means one-vs-all against ``elements[primary_index]``.
    """

    elements: tuple[ElementSet, ...]
    start: datetime
    duration_s: float
    slab_start_s: float
    slab_stop_s: float
    threshold_km: float
    knot_step_s: float
    substep_s: float
    primary_index: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE


class RawEvent(NamedTuple):
    """An event of one work unit; indices refer to ``WorkUnit.elements``, times to its start.

    A tuple, so that events sort by (index1, index2, tca_s) as they are merged.
    """

    index1: int
    index2: int
    tca_s: float
    miss_km: float
    speed_km_s: float
    rtn_r_km: float
    rtn_t_km: float
    rtn_n_km: float
    edge: WindowEdge | None = None


class Failure(NamedTuple):
    """SGP4 error code of an object and the seconds from the start at which it first failed."""

    code: int
    seconds: float


@dataclass(slots=True)
class UnitResult:
    """Raw output of one work unit; indices refer to ``WorkUnit.elements``."""

    events: list[RawEvent]
    failures: dict[int, Failure]
    candidate_pair_keys: IntArray
    candidate_intervals: int = 0
    hermite_minima: int = 0
    refined: int = 0


class UnitRuns(NamedTuple):
    """The results of all units of a run, in unit order, and how many workers ran them."""

    results: list[UnitResult]
    workers: int
