"""Avoidance trade: the smallest maneuver that takes a conjunction out of the red tier.

An impulsive Δv along one RTN direction of the primary, ``lead_time_s`` before TCA; both
objects follow two-body motion around TCA (adequate for the lead times of a trade study,
hours to a few orbits, not for operational planning, which needs the full force model);
covariances are taken as they are at TCA. For each candidate Δv the new closest approach
is found on a fine time grid with parabolic refinement, and the 2-D Pc recomputed there.
The search runs over a logarithmic grid of magnitudes in both senses, then bisects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from astroshield.astro.conjunction.pc import MU_EARTH_KM3_S2, kepler_propagate, pc_2d
from astroshield.astro.dynamics.frames import rtn_rotation

Direction = Literal["along_track", "radial"]
F64 = NDArray[np.float64]
_AXIS = {"radial": 0, "along_track": 1}


@dataclass(frozen=True)
class Approach:
    time_offset_s: float  # from the nominal TCA
    miss_distance_km: float
    pc: float


@dataclass(frozen=True)
class AvoidanceResult:
    direction: Direction
    delta_v_m_s: float  # signed: + along the axis (prograde / outward)
    lead_time_s: float
    before: Approach
    after: Approach


def burn_state(
    r1: ArrayLike,
    v1: ArrayLike,
    *,
    delta_v_m_s: float,
    direction: Direction,
    lead_time_s: float,
    mu: float = MU_EARTH_KM3_S2,
) -> tuple[F64, F64]:
    """The primary's state just after the burn, ``lead_time_s`` before the nominal TCA."""
    r1a, v1a = np.asarray(r1, dtype=np.float64), np.asarray(v1, dtype=np.float64)
    rb, vb = kepler_propagate(r1a, v1a, np.array(-lead_time_s), mu)
    axis = rtn_rotation(rb, vb)[_AXIS[direction]]  # rows are R, T, N
    return rb, vb + axis * (delta_v_m_s / 1000.0)


def approach_after_burn(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr_km: float,
    *,
    delta_v_m_s: float,
    direction: Direction,
    lead_time_s: float,
    window_s: float = 600.0,
    step_s: float = 1.0,
    mu: float = MU_EARTH_KM3_S2,
) -> Approach:
    """Closest approach and Pc when the primary burns ``delta_v_m_s`` ``lead_time_s``
    before the nominal TCA (states in km, km/s at TCA, one inertial frame)."""
    r2a, v2a = np.asarray(r2, dtype=np.float64), np.asarray(v2, dtype=np.float64)
    rb, vb = burn_state(
        r1, v1, delta_v_m_s=delta_v_m_s, direction=direction, lead_time_s=lead_time_s, mu=mu
    )
    offsets = np.arange(-window_s, window_s + step_s, step_s)
    p1, _ = kepler_propagate(rb, vb, lead_time_s + offsets, mu)
    p2, _ = kepler_propagate(r2a, v2a, offsets, mu)
    distance = np.linalg.norm(p1 - p2, axis=-1)
    k = int(np.argmin(distance))
    t = float(offsets[k])
    if 0 < k < len(offsets) - 1:  # parabola through the three samples around the minimum
        d0, d1, d2 = distance[k - 1], distance[k], distance[k + 1]
        curvature = d0 - 2 * d1 + d2
        if curvature > 0:
            t += step_s * 0.5 * (d0 - d2) / curvature
    s1, w1 = kepler_propagate(rb, vb, np.array(lead_time_s + t), mu)
    s2, w2 = kepler_propagate(r2a, v2a, np.array(t), mu)
    miss = float(np.linalg.norm(s1 - s2))
    pc = pc_2d(s1, w1, cov1, s2, w2, cov2, hbr_km, miss_convention="projected")
    return Approach(t, miss, pc)


def avoidance_trade(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr_km: float,
    *,
    lead_time_s: float,
    direction: Direction = "along_track",
    red_pc: float = 1e-4,
    max_delta_v_m_s: float = 5.0,
    mu: float = MU_EARTH_KM3_S2,
) -> AvoidanceResult | None:
    """The smallest |Δv| (either sense) that brings Pc under ``red_pc``; ``None`` when no
    Δv up to ``max_delta_v_m_s`` does."""

    def after(dv: float) -> Approach:
        return approach_after_burn(
            r1,
            v1,
            cov1,
            r2,
            v2,
            cov2,
            hbr_km,
            delta_v_m_s=dv,
            direction=direction,
            lead_time_s=lead_time_s,
            mu=mu,
        )

    before = after(0.0)
    if before.pc < red_pc:
        return AvoidanceResult(direction, 0.0, lead_time_s, before, before)
    bracket = _smallest_clearing(after, red_pc, max_delta_v_m_s)
    if bracket is None:
        return None
    good, cleared = _bisect(after, red_pc, *bracket)
    return AvoidanceResult(direction, good, lead_time_s, before, cleared)


def _smallest_clearing(
    after: Callable[[float], Approach], red_pc: float, max_delta_v_m_s: float
) -> tuple[float, float] | None:
    """(the smallest signed Δv on a log grid that clears ``red_pc``, the grid point before
    it) in either sense, the prograde one on a tie; None when no Δv up to the maximum does."""
    grid = np.geomspace(1e-4, max_delta_v_m_s, 40)
    best: tuple[float, float] | None = None
    for sign in (1.0, -1.0):
        previous = 0.0
        for magnitude in grid:
            if best is not None and magnitude >= abs(best[0]):
                break
            if after(sign * float(magnitude)).pc < red_pc:
                best = (float(magnitude) * sign, previous * sign)
                break
            previous = float(magnitude)
    return best


def _bisect(
    after: Callable[[float], Approach], red_pc: float, good: float, bad: float
) -> tuple[float, Approach]:
    """Bisection between a Δv that clears and one that does not, down to 0.1 mm/s."""
    cleared = after(good)
    for _ in range(40):
        if abs(good - bad) < 1e-4:
            break
        middle = 0.5 * (good + bad)
        candidate = after(middle)
        if candidate.pc < red_pc:
            good, cleared = middle, candidate
        else:
            bad = middle
    return good, cleared


def along_track_shift_cw(delta_v_m_s: float, elapsed_s: float, mean_motion_rad_s: float) -> float:
    """Clohessy-Wiltshire along-track displacement (km) ``elapsed_s`` after a tangential
    impulse on a circular orbit (Vallado, eq. 6-66 with only ydot0): the check for the
    propagation used above."""
    n, t, dv = mean_motion_rad_s, elapsed_s, delta_v_m_s / 1000.0
    return (dv / n) * (4 * math.sin(n * t) - 3 * n * t)
