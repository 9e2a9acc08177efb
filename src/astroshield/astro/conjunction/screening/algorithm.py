"""The screening algorithm for one work unit (a time slab), a pure function of its input.

Stages 2 to 6 of the pipeline described in :mod:`astroshield.astro.conjunction.screening`:

2. SGP4 at coarse knots (``knot_step_s``) for all objects of the slab, via
   :func:`~astroshield.astro.dynamics.propagation.iter_propagate` (bounded memory per chunk).
3. Cubic Hermite (positions and velocities) at the midpoint of every sub-interval of
   ``substep_s``; a k-d tree per sub-interval returns the pairs closer than a radius that
   no pair meeting within the threshold during that sub-interval can exceed
   (:func:`~astroshield.astro.conjunction.screening.filters.close_pairs`).
4. Per candidate pair a tighter, vectorised test: the straight-line relative motion through
   the midpoint state, clamped to the sub-interval, must pass within the threshold plus the
   largest possible curvature of the relative path (bounded by the gravity acceleration).
5. Range-rate sign change on the Hermite states brackets each minimum; vectorised bisection
   gives the interpolated TCA and miss, and only minima within the threshold plus an
   interpolation margin go on.
6. TCA refinement with real SGP4 calls (``Satrec.sgp4``): ``brentq`` on
   d/dt |r2 - r1|² / 2 = (r2 - r1)·(v2 - v1).

Memory per work unit is the knot states of one slab (objects x knots x 48 bytes, ~40 MB for
26,834 objects and a 1 h slab at 120 s) plus one chunk of propagation output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from sgp4.api import Satrec

from astroshield.astro.conjunction.screening.edges import edge_events
from astroshield.astro.conjunction.screening.filters import (
    IndexPairs,
    candidate_filter,
    close_pairs,
)
from astroshield.astro.conjunction.screening.types import (
    Failure,
    FloatArray,
    IntArray,
    RawEvent,
    UnitResult,
    WindowEdge,
    WorkUnit,
)
from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.astro.dynamics.interpolation import hermite_interpolate
from astroshield.astro.dynamics.propagation import (
    DEFAULT_CHUNK_SIZE,
    JulianDates,
    iter_propagate,
    julian_dates,
)

__all__ = ["knot_times", "plan_work_units", "screen_work_unit"]

_SECONDS_PER_DAY = 86400.0
# Allowance for the cubic-Hermite-vs-SGP4 difference in the filters. The Hermite position
# error with 120 s knots is metres in LEO and ~0.1 km at a GTO perigee; 1 km costs a few
# extra refinements and nothing else.
_INTERPOLATION_MARGIN_KM = 1.0
_BISECTION_STEPS = 40
# Sub-intervals whose midpoint states are interpolated in one call.
_SUBSTEP_BATCH = 16


class KnotStates(NamedTuple):
    """SGP4 states of every object at the knots of one slab.

    ``r_km``/``v_km_s`` are (K, N, 3), so each time slice is contiguous for the k-d tree;
    ``codes`` (N, K) are the SGP4 error codes.
    """

    t_s: FloatArray
    r_km: FloatArray
    v_km_s: FloatArray
    codes: npt.NDArray[np.uint8]


class HermiteStates(NamedTuple):
    """Interpolated positions (km) and velocities (km/s), one row per query."""

    r_km: FloatArray
    v_km_s: FloatArray


class RangeRate(NamedTuple):
    """(r_j - r_i)·(v_j - v_i) and |r_j - r_i| of object pairs."""

    rate: FloatArray
    distance_km: FloatArray


class PairStates(NamedTuple):
    """TEME states of the two objects of a pair at one time."""

    r1_km: FloatArray
    v1_km_s: FloatArray
    r2_km: FloatArray
    v2_km_s: FloatArray


class SubIntervals(NamedTuple):
    """Bounds (seconds from the window start) of the sub-intervals of a slab."""

    lows: FloatArray
    highs: FloatArray


class Candidates(NamedTuple):
    """Pairs (``first``, ``second``) that may meet within the threshold in sub-interval
    ``interval`` (an index into :class:`SubIntervals`)."""

    first: IntArray
    second: IntArray
    interval: IntArray


class Minima(NamedTuple):
    """Pairs whose interpolated separation has a minimum near the threshold, and its time."""

    first: IntArray
    second: IntArray
    t_s: FloatArray


def knot_times(duration_s: float, knot_step_s: float) -> FloatArray:
    """The global knot grid: every ``knot_step_s`` from 0, the last knot at ``duration_s``."""
    count = math.ceil(duration_s / knot_step_s - 1e-9)
    knots = np.arange(count + 1, dtype=np.float64) * knot_step_s
    knots[-1] = duration_s
    return knots


def plan_work_units(
    elements: Sequence[ElementSet],
    start: datetime,
    duration: timedelta,
    threshold_km: float,
    *,
    primary_index: int | None = None,
    knot_step_s: float = 120.0,
    substep_s: float = 30.0,
    slab_s: float = 3600.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[WorkUnit]:
    """Split the window into slabs of whole knot intervals (independent of worker count)."""
    duration_s = duration.total_seconds()
    knots = knot_times(duration_s, knot_step_s)
    knots_per_slab = max(1, round(slab_s / knot_step_s))
    frozen = tuple(elements)
    units = []
    for first in range(0, len(knots) - 1, knots_per_slab):
        last = min(first + knots_per_slab, len(knots) - 1)
        units.append(
            WorkUnit(
                elements=frozen,
                start=start,
                duration_s=duration_s,
                slab_start_s=float(knots[first]),
                slab_stop_s=float(knots[last]),
                threshold_km=threshold_km,
                knot_step_s=knot_step_s,
                substep_s=substep_s,
                primary_index=primary_index,
                chunk_size=chunk_size,
            )
        )
    return units


def _hermite_at(states: KnotStates, objects: IntArray, t: FloatArray) -> HermiteStates:
    """Cubic Hermite state of ``objects[i]`` at ``t[i]`` from the knot states.

    interpolation.hermite_interpolate evaluates one node table at many times; here every
    query has its own object, so the same cubic is written out element-wise.
    """
    knots, r, v = states.t_s, states.r_km, states.v_km_s
    k = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, len(knots) - 2)
    t0 = knots[k]
    step = knots[k + 1] - t0
    s = ((t - t0) / step)[:, None]
    dt = step[:, None]
    s2 = s * s
    s3 = s2 * s
    p0, p1 = r[k, objects], r[k + 1, objects]
    m0, m1 = v[k, objects] * dt, v[k + 1, objects] * dt
    pos = (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0 + (3 * s2 - 2 * s3) * p1
    pos += (s3 - s2) * m1
    vel = ((6 * s2 - 6 * s) * (p0 - p1) + (3 * s2 - 4 * s + 1) * m0 + (3 * s2 - 2 * s) * m1) / dt
    return HermiteStates(pos, vel)


def _range_rate_hermite(states: KnotStates, i: IntArray, j: IntArray, t: FloatArray) -> RangeRate:
    """Range rate and distance of the pairs (i, j) at times t from Hermite states."""
    ri, vi = _hermite_at(states, i, t)
    rj, vj = _hermite_at(states, j, t)
    d = rj - ri
    return RangeRate(np.einsum("ij,ij->i", d, vj - vi), np.sqrt(np.einsum("ij,ij->i", d, d)))


class _SGP4Pair:
    """Range rate of two Satrecs by direct sgp4 calls (no interpolation)."""

    def __init__(self, first: Satrec, second: Satrec, jd: float, fr: float) -> None:
        self.first, self.second, self.jd, self.fr = first, second, jd, fr

    def states(self, t_s: float) -> PairStates:
        fr = self.fr + t_s / _SECONDS_PER_DAY
        e1, r1, v1 = self.first.sgp4(self.jd, fr)
        e2, r2, v2 = self.second.sgp4(self.jd, fr)
        if e1 or e2:
            raise _SGP4FailedError(e1, e2, t_s)
        return PairStates(np.array(r1), np.array(v1), np.array(r2), np.array(v2))

    def range_rate(self, t_s: float) -> float:
        r1, v1, r2, v2 = self.states(t_s)
        return float(np.dot(r2 - r1, v2 - v1))


class _SGP4FailedError(Exception):
    """SGP4 failed between knots during refinement; carries both codes and the time."""

    def __init__(self, first_code: int, second_code: int, t_s: float) -> None:
        super().__init__(first_code, second_code, t_s)
        self.codes, self.t_s = (first_code, second_code), t_s


def _refine(pair: _SGP4Pair, guess: float, lo_limit: float, hi_limit: float) -> float | None:
    """Root of the SGP4 range rate (going - to +) near ``guess`` within the window."""
    # The Hermite guess is metres/milliseconds off, so the first bracket nearly always holds;
    # the wider ones only matter where interpolation and SGP4 disagree on the sign.
    for half_width in (0.5, 4.0, 30.0):
        lo = max(lo_limit, guess - half_width)
        hi = min(hi_limit, guess + half_width)
        f_lo, f_hi = pair.range_rate(lo), pair.range_rate(hi)
        if f_lo < 0.0 <= f_hi:
            if f_hi == 0.0:
                return hi
            root: float = brentq(pair.range_rate, lo, hi, xtol=1e-7, rtol=4 * np.finfo(float).eps)
            return root
    return None


def _slab_states(unit: WorkUnit, satrecs: list[Satrec], jd0: float, fr0: float) -> KnotStates:
    """SGP4 at the knots of the unit's slab (the global knot grid restricted to the slab)."""
    all_knots = knot_times(unit.duration_s, unit.knot_step_s)
    in_slab = (all_knots >= unit.slab_start_s - 1e-9) & (all_knots <= unit.slab_stop_s + 1e-9)
    knots = all_knots[in_slab]
    jd = JulianDates(np.full(len(knots), jd0), fr0 + knots / _SECONDS_PER_DAY)
    count, n_knots = len(satrecs), len(jd)
    r = np.empty((n_knots, count, 3))
    v = np.empty((n_knots, count, 3))
    codes = np.empty((count, n_knots), dtype=np.uint8)
    for chunk in iter_propagate(satrecs, jd, chunk_size=unit.chunk_size):
        stop = chunk.object_offset + chunk.r_km.shape[0]
        r[:, chunk.object_offset : stop] = chunk.r_km.transpose(1, 0, 2)
        v[:, chunk.object_offset : stop] = chunk.v_km_s.transpose(1, 0, 2)
        codes[chunk.object_offset : stop] = chunk.error_codes
    return KnotStates(knots, r, v, codes)


def _knot_failures(states: KnotStates) -> dict[int, Failure]:
    """Objects SGP4 failed for at some knot: the first failing knot's code and time."""
    failures: dict[int, Failure] = {}
    codes = states.codes
    for index in np.flatnonzero(codes.any(axis=1)):
        first = int(np.argmax(codes[index] != 0))
        failures[int(index)] = Failure(int(codes[index, first]), float(states.t_s[first]))
    return failures


def _substeps(knots: FloatArray, substep_s: float) -> SubIntervals:
    """Sub-interval bounds: each knot interval split into equal parts of at most substep_s."""
    lows, highs = [], []
    for a, b in pairwise(knots.tolist()):
        parts = max(1, math.ceil((b - a) / substep_s - 1e-9))
        edges = a + (b - a) * np.arange(parts + 1) / parts
        edges[-1] = b
        lows.append(edges[:-1])
        highs.append(edges[1:])
    return SubIntervals(np.concatenate(lows), np.concatenate(highs))


def _pairs_to_test(
    r_km: FloatArray,
    v_km_s: FloatArray,
    valid_index: IntArray,
    primary: int | None,
    half: float,
    limit: float,
) -> IndexPairs:
    """Pairs of valid objects to test in one sub-interval (midpoint states ``r_km``, ``v_km_s``).

    One-vs-all tests the primary against every valid object; all-vs-all asks the k-d tree.
    """
    if primary is not None:
        j = valid_index[valid_index != primary]
        return IndexPairs(np.full(len(j), primary, dtype=np.int64), j)
    found = close_pairs(r_km[valid_index], np.linalg.norm(v_km_s[valid_index], axis=1), half, limit)
    return IndexPairs(valid_index[found.first], valid_index[found.second])


def _find_candidates(
    unit: WorkUnit, states: KnotStates, sub: SubIntervals, valid: npt.NDArray[np.bool_]
) -> Candidates | None:
    """Pairs and sub-intervals that pass the k-d tree and tangent-line filters, or ``None``."""
    primary = unit.primary_index
    if primary is not None and not valid[primary]:
        return None
    valid_index = np.flatnonzero(valid).astype(np.int64)
    limit = unit.threshold_km + _INTERPOLATION_MARGIN_KM
    found: list[Candidates] = []
    for first in range(0, len(sub.lows), _SUBSTEP_BATCH):
        lo = sub.lows[first : first + _SUBSTEP_BATCH]
        hi = sub.highs[first : first + _SUBSTEP_BATCH]
        mids = 0.5 * (lo + hi)
        pos, vel = hermite_interpolate(states.t_s, states.r_km, states.v_km_s, mids, degree=3)
        for local, half in enumerate(0.5 * (hi - lo)):
            i, j = _pairs_to_test(pos[local], vel[local], valid_index, primary, float(half), limit)
            if len(i) == 0:
                continue
            d = pos[local, j] - pos[local, i]
            w = vel[local, j] - vel[local, i]
            keep = candidate_filter(d, w, np.full(len(i), half), limit)
            if keep.any():
                interval = np.full(int(keep.sum()), first + local, dtype=np.int64)
                found.append(Candidates(i[keep], j[keep], interval))
    if not found:
        return None
    return Candidates(
        np.concatenate([item.first for item in found]),
        np.concatenate([item.second for item in found]),
        np.concatenate([item.interval for item in found]),
    )


def _catalog_numbers(elements: Sequence[ElementSet]) -> IntArray:
    return np.array([int(item.catalog_number) for item in elements], dtype=np.int64)


def _by_catalog_number(numbers: IntArray, candidates: Candidates) -> Candidates:
    """Each pair ordered by catalog number (object1 < object2)."""
    ci, cj = candidates.first, candidates.second
    swap = numbers[ci] > numbers[cj]
    return Candidates(np.where(swap, cj, ci), np.where(swap, ci, cj), candidates.interval)


def _hermite_minima(
    states: KnotStates, candidates: Candidates, sub: SubIntervals, limit: float
) -> Minima:
    """Minima of the interpolated separation bracketed by a range-rate sign change, within
    ``limit``, located by vectorised bisection."""
    ci, cj = candidates.first, candidates.second
    a, b = sub.lows[candidates.interval], sub.highs[candidates.interval]
    f_a = _range_rate_hermite(states, ci, cj, a).rate
    f_b = _range_rate_hermite(states, ci, cj, b).rate
    bracketed = (f_a < 0.0) & (f_b >= 0.0)
    ci, cj, a, b = ci[bracketed], cj[bracketed], a[bracketed], b[bracketed]
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (a + b)
        negative = _range_rate_hermite(states, ci, cj, mid).rate < 0.0
        a = np.where(negative, mid, a)
        b = np.where(negative, b, mid)
    t_guess = 0.5 * (a + b)
    close = _range_rate_hermite(states, ci, cj, t_guess).distance_km <= limit
    return Minima(ci[close], cj[close], t_guess[close])


def _record_failure(
    failures: dict[int, Failure], pair: tuple[int, int], error: _SGP4FailedError
) -> None:
    """Report the object(s) that failed between knots like a failure at a knot."""
    for failed, code in zip(pair, error.codes, strict=True):
        if code and (failed not in failures or error.t_s < failures[failed].seconds):
            failures[failed] = Failure(int(code), error.t_s)


def _refined_event(
    unit: WorkUnit,
    pair: _SGP4Pair,
    indices: tuple[int, int],
    guess: float,
    failures: dict[int, Failure],
) -> RawEvent | None:
    """The SGP4-refined minimum near ``guess``, if inside the window and the threshold."""
    try:
        tca = _refine(pair, guess, 0.0, unit.duration_s)
        if tca is None or not 0.0 < tca < unit.duration_s:
            return None
        r1, v1, r2, v2 = pair.states(tca)
    except _SGP4FailedError as error:
        _record_failure(failures, indices, error)
        return None
    miss = float(np.linalg.norm(r2 - r1))
    if miss > unit.threshold_km:
        return None
    rtn = rtn_rotation(r1, v1) @ (r2 - r1)
    speed = float(np.linalg.norm(v2 - v1))
    return RawEvent(*indices, tca, miss, speed, float(rtn[0]), float(rtn[1]), float(rtn[2]))


def _window_edge_events(
    unit: WorkUnit, states: KnotStates, valid: npt.NDArray[np.bool_], numbers: IntArray
) -> list[RawEvent]:
    """Approaches cut off by the window start (first slab) or end (last slab)."""
    found: list[RawEvent] = []
    edges: list[tuple[int, WindowEdge]] = []
    if unit.slab_start_s <= 0.0:
        edges.append((0, "start"))
    if unit.slab_stop_s >= unit.duration_s:
        edges.append((len(states.t_s) - 1, "end"))
    for knot, edge in edges:
        found += edge_events(
            states.r_km[knot],
            states.v_km_s[knot],
            valid,
            numbers,
            primary=unit.primary_index,
            threshold_km=unit.threshold_km,
            t_s=float(states.t_s[knot]),
            edge=edge,
        )
    return found


def screen_work_unit(unit: WorkUnit) -> UnitResult:
    """Screen one time slab; a pure function of ``unit`` (safe to run in any process)."""
    elements = unit.elements
    satrecs = [to_satrec(item) for item in elements]
    window = julian_dates([unit.start])
    jd0, fr0 = float(window.whole[0]), float(window.fraction[0])
    states = _slab_states(unit, satrecs, jd0, fr0)
    failures = _knot_failures(states)
    result = UnitResult(events=[], failures=failures, candidate_pair_keys=np.empty(0, np.int64))

    valid = np.ones(len(elements), dtype=bool)
    valid[list(failures)] = False
    numbers = _catalog_numbers(elements)
    result.events.extend(_window_edge_events(unit, states, valid, numbers))
    sub = _substeps(states.t_s, unit.substep_s)
    candidates = _find_candidates(unit, states, sub, valid)
    if candidates is None:
        return result
    # Order each pair by catalog number here (object1 < object2), the primary stays first.
    if unit.primary_index is None:
        candidates = _by_catalog_number(numbers, candidates)
    result.candidate_pair_keys = np.unique(candidates.first * len(elements) + candidates.second)
    result.candidate_intervals = len(candidates.first)

    minima = _hermite_minima(states, candidates, sub, unit.threshold_km + _INTERPOLATION_MARGIN_KM)
    result.hermite_minima = len(minima.first)
    for i1, i2, guess in zip(minima.first, minima.second, minima.t_s, strict=True):
        pair = _SGP4Pair(satrecs[int(i1)], satrecs[int(i2)], jd0, fr0)
        result.refined += 1
        event = _refined_event(unit, pair, (int(i1), int(i2)), float(guess), failures)
        if event is not None:
            result.events.append(event)
    return result
