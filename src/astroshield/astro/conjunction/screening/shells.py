"""Radial shells: the first, cheapest filter of a screening run.

Perigee/apogee radii of SGP4's own mean elements at both ends of the window (so drag decay is
in), padded for the periodic terms and the threshold. One-vs-all drops every object whose shell
misses the primary's before propagating it; all-vs-all only reports the count of pairs with
overlapping shells (its k-d tree returns spatially close pairs only, so no per-pair shell test
is needed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from astroshield.astro.conjunction.screening.types import FloatArray
from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.dynamics.propagation import julian_dates

__all__ = ["orbit_shells", "overlapping_pairs"]

# WGS72, the constants SGP4 element sets are fitted with.
_MU_KM3_S2 = 398600.8
_SECONDS_PER_DAY = 86400.0
# Shell pad: short-period J2 terms move the osculating radius by up to ~10 km in LEO around
# the mean-element perigee/apogee. SGP4's deep-space periodic (lunisolar) terms are applied
# after am/em are computed and reached 0.65 % of a (YZ-1 R/B, e = 0.59) in the shared
# catalog; 2 % keeps a factor 3 of headroom.
_SHELL_PAD_KM = 30.0
_SHELL_PAD_NEAR_EARTH = 2e-3
_SHELL_PAD_DEEP_SPACE = 2e-2
_DEEP_SPACE_REV_PER_DAY = 1440.0 / 225.0


def orbit_shells(
    elements: Sequence[ElementSet],
    start: datetime,
    end: datetime,
    pad_km: float = 0.0,
) -> FloatArray:
    """(N, 2) radii (km) bounding each object's osculating radius over ``[start, end]``.

    Perigee and apogee of SGP4's own secularly propagated mean elements (``Satrec.am``,
    ``em`` after an ``sgp4`` call) at both ends of the window, so drag decay through BSTAR
    and the age of the elements are included; widened for the periodic terms SGP4 adds on
    top (short-period J2 in LEO, lunisolar terms in deep space) and by ``pad_km``.
    """
    window = julian_dates([start, end])
    bounds = np.empty((len(elements), 2))
    for index, item in enumerate(elements):
        satrec = to_satrec(item)
        lows, highs = [], []
        for jd, fr in zip(window.whole, window.fraction, strict=True):
            satrec.sgp4(jd, fr)
            a_km = satrec.am * satrec.radiusearthkm
            lows.append(a_km * (1.0 - satrec.em))
            highs.append(a_km * (1.0 + satrec.em))
        if not all(map(math.isfinite, lows + highs)):
            # SGP4 gave up (decayed); those objects are skipped later anyway.
            n = item.mean_motion_rev_per_day * 2 * math.pi / _SECONDS_PER_DAY
            a_km = (_MU_KM3_S2 / (n * n)) ** (1 / 3)
            lows, highs = [a_km * (1 - item.eccentricity)], [a_km * (1 + item.eccentricity)]
        a_mean = 0.5 * (min(lows) + max(highs))
        deep_space = item.mean_motion_rev_per_day < _DEEP_SPACE_REV_PER_DAY
        pad = (
            _SHELL_PAD_KM
            + (_SHELL_PAD_DEEP_SPACE if deep_space else _SHELL_PAD_NEAR_EARTH) * a_mean
            + pad_km
        )
        bounds[index] = (min(lows) - pad, max(highs) + pad)
    return bounds


def overlapping_pairs(shells: FloatArray) -> int:
    """Number of unordered pairs whose [lo, hi] intervals overlap (sort + count disjoint)."""
    count = len(shells)
    lows = np.sort(shells[:, 0])
    disjoint = count - np.searchsorted(lows, shells[:, 1], side="right")
    return count * (count - 1) // 2 - int(disjoint.sum())
