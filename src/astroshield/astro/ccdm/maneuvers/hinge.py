"""Multi-set along-track test: a burn as a break in the slope of the mean longitude.

An impulsive tangential burn changes the semi-major axis by Δa as a step, so the mean motion
steps by Δn = -3/2·n·Δa/a and the along-track position (the mean longitude times a) turns
from one straight line in time onto another with a slope differing by -3/2·n·Δa: a *hinge*
at the burn time (the separation-growth relation of Patera 2008 used by :mod:`.timing`, here
over many sets instead of one pair). Each element set's mean longitude at its own epoch is
its best-determined quantity (the along-track position the catalogue fit pins to its
tracking), so a line through the ``hinge_sets`` sets on each side of an interval sees a
slope change far below the single-set scatter of the mean motion. This finds the small
burns the catalogue absorbs over several fits (BSTAR and the mean motion fitted together,
seen on Haiyang-2A), and the hinge, where the two lines meet, times such a burn by the
physics rather than by the first large jump.

Drag is smooth: a slowly varying decay rate bends the along-track curve gently everywhere,
which the robust centre and scale of the slope-change statistic over a sliding window of
intervals (as in :mod:`.noise`) absorb; a burn is a sharp break at one moment. Every window
that holds a burn scores it, so the centre and scale are taken again from the intervals away
from clear breaks (:func:`_quiet_center_scale`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
from sgp4.api import Satrec

from astroshield.astro.ccdm.maneuvers.jumps import MINUTES_PER_DAY, mean_at, wrap
from astroshield.astro.ccdm.maneuvers.model import FloatArray
from astroshield.astro.ccdm.maneuvers.noise import MAD_TO_SIGMA as _MAD_TO_SIGMA
from astroshield.astro.ccdm.maneuvers.noise import rolling_center_scale

# Trial burn times per interval (evenly spaced, the set epoch after the gap included).
_TRIAL_TIMES = 8
# Along-track residual floor (km), as in :mod:`.noise`: identical rounded values cannot give 0.
_FLOOR_KM = 0.01


class Hinge(NamedTuple):
    """A slope break of the along-track position between kept sets ``before`` and ``before+1``.

    ``burn_days`` is the hinge time (days after the first set), ``slope_km_day`` the slope
    change (-3/2·n·Δa), ``z`` its robust score and ``da_km`` the implied semi-major-axis step.
    """

    before: int
    burn_days: float
    slope_km_day: float
    z: float
    da_km: float


def along_track_km(
    satrecs: Sequence[Satrec], epochs: Sequence[datetime], kept: Sequence[int]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Days, along-track position (km) and mean motion (rad/day) of the kept sets.

    The mean longitude Ω + ω + M at each set's epoch is unwrapped with the previous set's mean
    motion (the J2 secular rates add a few degrees a day, far from half a turn) and scaled
    by the median semi-major axis to a length along the orbit.
    """
    means = [mean_at(satrecs[index], 0.0) for index in kept]
    days = np.array([(epochs[index] - epochs[0]).total_seconds() / 86400.0 for index in kept])
    longitude = np.zeros(len(kept))
    n_rad_day = np.zeros(len(kept))
    a_km = np.zeros(len(kept))
    previous = 0.0
    for position, mean in enumerate(means):
        if mean is None:  # kept sets all initialise in SGP4; guard for the type checker
            raise ValueError("kept element set does not initialise in SGP4")
        n_rad_day[position] = mean.n_rad_min * MINUTES_PER_DAY
        a_km[position] = mean.a_km
        raw = mean.raan + mean.argp + mean.mean_anomaly
        if position:
            advance = n_rad_day[position - 1] * (days[position] - days[position - 1])
            longitude[position] = longitude[position - 1] + advance + wrap(raw - previous - advance)
        previous = raw
    return days, longitude * float(np.median(a_km)), n_rad_day


def _fit(days: FloatArray, track: FloatArray, start: float, end: float) -> tuple[float, ...]:
    """Best hinge in (start, end]: (residual sum, hinge time, slope change, its unit error).

    Two straight lines meeting at the trial time (position is continuous through an
    impulsive burn); the trial with the smallest residual sum is the hinge.
    """
    best: tuple[float, ...] = (math.inf, end, 0.0, 0.0)
    for burn in np.linspace(start, end, _TRIAL_TIMES + 1)[1:]:
        design = np.column_stack([np.ones_like(days), days - burn, np.maximum(days - burn, 0.0)])
        coeffs, *_ = np.linalg.lstsq(design, track, rcond=None)
        residual = track - design @ coeffs
        rss = float(residual @ residual)
        if rss < best[0]:
            unit = math.sqrt(float(np.linalg.inv(design.T @ design)[-1, -1]))
            best = (rss, float(burn), float(coeffs[-1]), unit)
    return best


def hinges(
    days: FloatArray,
    track: FloatArray,
    n_rad_day: FloatArray,
    half: int,
    window: int,
    mask_sigma: float = 0.0,
) -> list[Hinge]:
    """Every interval's best hinge over ``half`` sets each side, scored robustly.

    The t-statistic of the slope change is normalised by its own sliding median and scale
    over ``window`` intervals (as the jumps are in :mod:`.noise`), so the object's own
    along-track scatter and smooth drag variations set the scale.
    """
    rows: list[tuple[int, float, float, float]] = []
    for before in range(half - 1, days.shape[0] - half):
        lo, hi = before - half + 1, before + half + 1
        origin = days[before]
        rss, burn, slope, unit = _fit(
            days[lo:hi] - origin, track[lo:hi], 0.0, days[before + 1] - origin
        )
        # t-statistic of the slope change against the window's own residual scatter: a
        # window the two lines fit poorly (drag varying within it) is not a clean break.
        spread = max(math.sqrt(rss / max(hi - lo - 3, 1)), _FLOOR_KM)
        rows.append((before, burn + origin, slope, slope / (unit * spread)))
    if not rows:
        return []
    stats = np.array([row[3] for row in rows])
    center, scale = rolling_center_scale(stats, window, 1e-9)
    if mask_sigma > 0.0:
        center, scale = _quiet_center_scale(stats, (center, scale), window, half, mask_sigma)
    return [
        Hinge(
            before=before,
            burn_days=burn,
            slope_km_day=slope,
            z=float((stats[i] - center[i]) / scale[i]),
            da_km=-slope / (1.5 * float(n_rad_day[before])),
        )
        for i, (before, burn, slope, _) in enumerate(rows)
    ]


def _quiet_center_scale(
    stats: FloatArray,
    first: tuple[FloatArray, FloatArray],
    window: int,
    half: int,
    mask_sigma: float,
) -> tuple[FloatArray, FloatArray]:
    """Sliding median and MAD scale of the statistic over the quiet intervals only.

    Every window that holds a burn scores it at whichever interval it is centred on, so the
    2·``half`` intervals around a break are not samples of the noise; where burns come every
    few weeks that is most of them, and the first-pass MAD over-states the noise. The
    intervals around each break that stands ``mask_sigma`` out of the first pass are masked
    and the centre and scale taken again from the rest (where at least 7 remain).
    """
    center, scale = first
    deviation = np.abs(stats - center) / scale
    masked = np.zeros(stats.shape[0], dtype=bool)
    for peak in np.flatnonzero(deviation >= mask_sigma).tolist():
        start, stop = max(peak - half, 0), peak + half + 1
        if deviation[peak] >= deviation[start:stop].max():
            masked[start:stop] = True
    if not masked.any():
        return center, scale
    quiet = np.flatnonzero(~masked)
    width = max(window // 2, 3)
    center, scale = center.copy(), scale.copy()
    for index in range(stats.shape[0]):
        lo = int(np.searchsorted(quiet, index - width))
        hi = int(np.searchsorted(quiet, index + width, side="right"))
        if hi - lo >= 7:
            sample = stats[quiet[lo:hi]]
            center[index] = float(np.median(sample))
            spread = float(np.median(np.abs(sample - center[index])))
            scale[index] = max(_MAD_TO_SIGMA * spread, 1e-9)
    return center, scale


def strongest(found: Sequence[Hinge], threshold: float, half: int) -> list[Hinge]:
    """Hinges above ``threshold`` that are the strongest within ``half`` intervals."""
    scores = np.abs(np.array([item.z for item in found]))
    picked = []
    for index, item in enumerate(found):
        lo, hi = max(index - half, 0), index + half + 1
        if scores[index] >= threshold and scores[index] >= scores[lo:hi].max():
            picked.append(item)
    return picked


def periodic_error_minutes(n_rad_min: float) -> float:
    """Largest timing error of a straight along-track drift line, in minutes: 4/(3n).

    The line ignores the periodic part of the relative motion after a burn (amplitude 4Δv/n
    along-track against a drift of 3Δv per unit time, Clohessy-Wiltshire): ~5 h at GEO, where
    the resonant longitude acceleration bends the along-track curve too, ~20 min in LEO.
    """
    return 4.0 / (3.0 * n_rad_min)


def hinge_epoch(origin: datetime, item: Hinge) -> datetime:
    return origin + timedelta(days=item.burn_days)
