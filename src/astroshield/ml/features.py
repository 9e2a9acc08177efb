"""Per-object normalised features of an element-set history, for the sequence models.

One feature row per element set after the first (sorted by epoch, repeated epochs dropped,
sets SGP4 cannot initialise dropped): the *jump* from the previous set, i.e. this set's SGP4
mean elements minus the previous set propagated to this epoch
(:func:`astroshield.astro.ccdm.maneuvers.jumps.element_jump`, the same physics as the CCDM
maneuver detector). SGP4 propagation removes the J2 (and deep-space) secular drift of node,
perigee and mean anomaly and the modelled drag decay, so what is left is the change that the
catalogue's fit saw and the propagation did not predict. Components:

===========  ==================================================================
``a``        semi-major-axis jump (from the mean motion), km
``ex, ey``   eccentricity-vector jump (referred to the longitude of perigee)
``i``        inclination jump, rad
``node``     sin(i)·ΔΩ: the other orbit-normal component (RAAN drift residual), rad
``along``    along-track residual per day of propagation, km/day (argument of
             latitude residual times a)
``gap``      log of the epoch spacing in days (the cadence: longer gaps, larger jumps)
``a2``       semi-major-axis jump over two sets (from the set before the previous one)
``e2``       robust size of the eccentricity-vector jump over two sets
``normal2``  robust size of the orbit-normal jump (i, sin(i)·ΔΩ) over two sets
``hinge``    robust z of the along-track slope break over the interval (the CCDM
             detector's multi-set test, :mod:`astroshield.astro.ccdm.maneuvers.hinge`,
             with ``HINGE_SETS`` sets each side; 0 where the sets after it are not yet
             there)
===========  ==================================================================

The two-set jumps and the hinge tell a step (it persists: the jump over two sets is as
large, the along-track line bends and stays bent) from one bad set (the two-set jump over it
is small), which a window of one-set jumps shows only as a pattern of signs.

Each component is normalised *per object* by its own robust scatter over a centred sliding
window (:func:`astroshield.astro.ccdm.maneuvers.noise.rolling_center_scale`: median and
max(1.4826·MAD, q90/1.645), floors at the TLE field resolution), so the features are robust
z-scores that mean the same for a LEO and a GEO object, then compressed as
``sign(z)·log(1 + |z|)`` so a 1,000-sigma breakup does not dominate training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from astroshield.astro.ccdm.maneuvers.hinge import along_track_km, hinges
from astroshield.astro.ccdm.maneuvers.jumps import Jump, element_jump, mean_at, sorted_unique
from astroshield.astro.ccdm.maneuvers.noise import noise_model, rolling_center_scale, z_scores
from astroshield.astro.dynamics.elements import ElementSet, to_satrec

FloatArray = npt.NDArray[np.float64]

FEATURE_NAMES: tuple[str, ...] = (
    "a", "ex", "ey", "i", "node", "along", "gap", "a2", "e2", "normal2", "hinge",
)  # fmt: skip
# Sets each side of an interval in the along-track slope-break feature: the interval's row
# gets its value once HINGE_SETS - 1 later sets exist (a model scoring with a lag of that
# many sets sees it for the scored set).
HINGE_SETS = 3
# Sliding window (intervals) and tail quantile of the per-object normalisation: the CCDM
# detector's defaults (about four months of daily sets).
NORMALISATION_WINDOW = 121
TAIL_QUANTILE = 0.9


@dataclass(frozen=True, slots=True)
class HistoryFeatures:
    """Feature rows of one history: ``values[k]`` belongs to the set at ``epochs[k]``.

    ``epochs`` are the epochs of the sets that have a row (every usable set but the first);
    ``previous`` the epoch of the set before each (the interval the row covers).
    """

    epochs: tuple[datetime, ...]
    previous: tuple[datetime, ...]
    values: FloatArray  # (rows, len(FEATURE_NAMES)), float64
    raw: FloatArray  # the same before normalisation (physical units, gap in days)


def usable_sets(elements: Sequence[ElementSet]) -> list[ElementSet]:
    """Sorted, unique-epoch sets that SGP4 initialises and propagates at their epoch."""
    return [item for item in sorted_unique(elements) if mean_at(to_satrec(item), 0.0) is not None]


def consecutive_jumps(ordered: Sequence[ElementSet]) -> list[tuple[int, Jump]]:
    """(index of the later set, jump) for each consecutive pair whose propagation works."""
    satrecs = [to_satrec(item) for item in ordered]
    found = []
    for k in range(1, len(ordered)):
        jump = element_jump(satrecs[k - 1], ordered[k - 1].epoch, satrecs[k], ordered[k].epoch)
        if jump is not None:
            found.append((k, jump))
    return found


def history_features(elements: Sequence[ElementSet]) -> HistoryFeatures:
    """The normalised feature rows of one object's history (see the module docstring).

    Raises ``ValueError`` when fewer than three jumps can be formed.
    """
    ordered = usable_sets(elements)
    jumps = consecutive_jumps(ordered)
    if len(jumps) < 3:
        raise ValueError(f"{len(jumps)} usable consecutive element-set pairs; need at least 3")
    noise = noise_model([j for _, j in jumps], NORMALISATION_WINDOW, TAIL_QUANTILE)
    gaps = np.array([max(j.dt_days, 1e-3) for _, j in jumps])
    raw_columns = {
        "a": np.array([j.da_km for _, j in jumps]),
        "ex": np.array([j.dex for _, j in jumps]),
        "ey": np.array([j.dey for _, j in jumps]),
        "i": np.array([j.dinc for _, j in jumps]),
        "node": np.array([j.dnode for _, j in jumps]),
        "along": np.array([j.along_km / max(j.dt_days, 0.05) for _, j in jumps]),
        "gap": gaps,
    }
    raw_columns.update({name: np.zeros(len(jumps)) for name in ("a2", "e2", "normal2", "hinge")})
    z_columns = []
    for name in FEATURE_NAMES[:7]:
        if name == "gap":
            log_gap = np.log(gaps)
            center, scale = rolling_center_scale(log_gap, NORMALISATION_WINDOW, 0.05)
            z_columns.append((log_gap - center) / scale)
        else:
            center, scale = noise[name]
            z_columns.append((raw_columns[name] - center) / scale)
    z_columns += _two_set_columns(ordered, [k for k, _ in jumps])
    z_columns.append(_hinge_column(ordered, [k for k, _ in jumps]))
    z = np.stack(z_columns, axis=1)
    return HistoryFeatures(
        epochs=tuple(ordered[k].epoch for k, _ in jumps),
        previous=tuple(ordered[k - 1].epoch for k, _ in jumps),
        values=np.sign(z) * np.log1p(np.abs(z)),
        raw=np.stack([raw_columns[name] for name in FEATURE_NAMES], axis=1),
    )


def _two_set_columns(ordered: Sequence[ElementSet], rows: Sequence[int]) -> list[FloatArray]:
    """Robust z of the jumps from set k-2 to set k for each row's set k (0 where none)."""
    satrecs = [to_satrec(item) for item in ordered]
    found: dict[int, Jump] = {}
    for k in rows:
        if k >= 2:
            jump = element_jump(satrecs[k - 2], ordered[k - 2].epoch, satrecs[k], ordered[k].epoch)
            if jump is not None:
                found[k] = jump
    zeros = np.zeros(len(rows))
    if len(found) < 3:
        return [zeros, zeros.copy(), zeros.copy()]
    keys = sorted(found)
    noise = noise_model([found[k] for k in keys], NORMALISATION_WINDOW, 0.5)
    z = z_scores([found[k] for k in keys], noise)
    by_row = {k: index for index, k in enumerate(keys)}
    a2, e2, n2 = zeros.copy(), zeros.copy(), zeros.copy()
    for position, k in enumerate(rows):
        index = by_row.get(k)
        if index is not None:
            a2[position] = z["a"][index]
            e2[position] = math.hypot(z["ex"][index], z["ey"][index])
            n2[position] = math.hypot(z["i"][index], z["node"][index])
    return [a2, e2, n2]


def _hinge_column(ordered: Sequence[ElementSet], rows: Sequence[int]) -> FloatArray:
    """Robust z of the along-track slope break between set k-1 and set k, per row's set k."""
    column = np.zeros(len(rows))
    if len(ordered) < 2 * HINGE_SETS + 1:
        return column
    satrecs = [to_satrec(item) for item in ordered]
    days, track, n_rad_day = along_track_km(
        satrecs, [item.epoch for item in ordered], range(len(ordered))
    )
    by_interval = {
        item.before + 1: item.z
        for item in hinges(days, track, n_rad_day, HINGE_SETS, NORMALISATION_WINDOW)
    }
    for position, k in enumerate(rows):
        column[position] = by_interval.get(k, 0.0)
    return column


def windows(values: FloatArray, length: int) -> npt.NDArray[np.float32]:
    """Sliding windows ``(rows - length + 1, length, features)``: window ``k`` ends at row
    ``k + length - 1`` (its newest row). Empty when there are fewer rows than ``length``.

    The ``hinge`` of the newest ``HINGE_SETS - 1`` rows of each window is zeroed: it needs
    sets after the window's end, which a live history does not have yet, so no window holds
    a slope break that only later sets could show (scores on a past history use no more of
    the future than the same score computed live).
    """
    count = values.shape[0] - length + 1
    if count <= 0:
        return np.zeros((0, length, values.shape[1]), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(values, length, axis=0)
    # sliding_window_view puts the window axis last: (count, features, length).
    batch = np.ascontiguousarray(np.transpose(view, (0, 2, 1)), dtype=np.float32)
    if values.shape[1] == len(FEATURE_NAMES):
        batch[:, length - (HINGE_SETS - 1) :, FEATURE_NAMES.index("hinge")] = 0.0
    return batch


def robust_z(values: FloatArray) -> FloatArray:
    """|value - median| / (1.4826·MAD) over the whole array (floored), for the baselines."""
    center = float(np.median(values))
    scale = max(1.4826 * float(np.median(np.abs(values - center))), 1e-12)
    return np.asarray(np.abs(values - center) / scale, dtype=np.float64)
