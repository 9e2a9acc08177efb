"""Avoidance trade: the smallest maneuver that takes a conjunction out of the red tier.

An impulsive Δv along one RTN direction of the primary, ``lead_time_s`` before TCA; both
objects follow two-body motion around TCA (adequate for the lead times of a trade study,
hours to a few orbits, not for operational planning, which needs the full force model);
covariances are taken as they are at TCA. For each candidate Δv the new closest approach
is found on a fine time grid with parabolic refinement, and the 2-D Pc recomputed there.
The search runs over a logarithmic grid of magnitudes in both senses, then bisects.

The general trade (:func:`optimal_burn`) takes the burn as an RTN Δv *vector* at any burn
time inside a window and finds the smallest |Δv| that brings Pc under the threshold:

1. the primary's position at TCA responds to a burn ``lead`` seconds before TCA through the
   two-body Jacobian ``J(lead) = d r1(TCA) / d Δv_rtn`` (central differences of
   :func:`kepler_propagate`, all candidate burn times at once); projected on the encounter
   plane this is the 2x3 map ``A(lead)`` from Δv to the shift of the miss vector;
2. the 2-D Pc is log-concave in the miss vector (a Gaussian convolved with a disc), so the
   red region ``{Pc >= threshold}`` is convex: along every direction ``u`` of the encounter
   plane the miss leaves it once, at a distance ``s(u)`` found by a grid and bisection
   (vectorised over 180 directions);
3. the cheapest Δv that shifts the miss by ``s(u) u`` is the minimum-norm solution
   ``pinv(A) s(u) u``; its norm is minimised over a grid of burn times (64 per orbit) and
   directions, then refined (golden section on the burn time, a finer direction grid);
4. the linearised optimum is re-checked with the nonlinear propagation (closest approach by
   Newton on the range rate, :func:`pc_2d` there) and its magnitude bisected on that exact
   Pc to 0.1 % so the returned burn is feasible and tight along its direction.

The independent check is a brute-force search over burn times, directions and magnitudes
(``tests/astro/test_avoidance_vector.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from astroshield.astro.conjunction.pc import (
    MU_EARTH_KM3_S2,
    kepler_propagate,
    pc_2d,
    pc_encounter_plane_batch,
)
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


# --- the general trade: an RTN Δv vector at a burn time inside a window ---------------------


@dataclass(frozen=True)
class AvoidanceConstraints:
    """What an operator allows: the burn between ``max_lead_s`` (earliest) and ``min_lead_s``
    (latest) seconds before TCA, at most ``max_delta_v_m_s``, and Pc under ``red_pc`` after."""

    min_lead_s: float
    max_lead_s: float
    max_delta_v_m_s: float = 2.0
    red_pc: float = 1e-4

    def __post_init__(self) -> None:
        if not 0.0 < self.min_lead_s <= self.max_lead_s:
            raise ValueError(
                f"burn window: need 0 < min_lead_s ({self.min_lead_s}) <= max_lead_s "
                f"({self.max_lead_s})"
            )
        if self.max_delta_v_m_s <= 0.0 or not 0.0 < self.red_pc < 1.0:
            raise ValueError("max_delta_v_m_s must be > 0 and red_pc in (0, 1)")


@dataclass(frozen=True)
class VectorBurn:
    """A burn ``lead_time_s`` before the nominal TCA of ``dv_rtn_m_s`` (R, T, N of the
    primary at the burn) and the closest approach it leads to (two-body, Pc by pc_2d)."""

    lead_time_s: float
    dv_rtn_m_s: tuple[float, float, float]
    before: Approach
    after: Approach

    @property
    def delta_v_m_s(self) -> float:
        return math.sqrt(sum(c * c for c in self.dv_rtn_m_s))


def burn_state_rtn(
    r1: ArrayLike,
    v1: ArrayLike,
    *,
    dv_rtn_m_s: ArrayLike,
    lead_time_s: float,
    mu: float = MU_EARTH_KM3_S2,
) -> tuple[F64, F64]:
    """The primary's state just after a burn of ``dv_rtn_m_s`` (RTN at the burn, m/s),
    ``lead_time_s`` before the nominal TCA (state at TCA in km, km/s)."""
    r1a, v1a = np.asarray(r1, dtype=np.float64), np.asarray(v1, dtype=np.float64)
    rb, vb = kepler_propagate(r1a, v1a, np.array(-lead_time_s), mu)
    dv = np.asarray(dv_rtn_m_s, dtype=np.float64) / 1000.0
    return rb, vb + rtn_rotation(rb, vb).T @ dv


def closest_approach(
    rb: ArrayLike,
    vb: ArrayLike,
    lead_time_s: float,
    r2: ArrayLike,
    v2: ArrayLike,
    cov1: ArrayLike,
    cov2: ArrayLike,
    hbr_km: float,
    *,
    mu: float = MU_EARTH_KM3_S2,
) -> Approach:
    """Closest approach of the primary (state ``rb, vb`` ``lead_time_s`` before the nominal
    TCA) and the secondary (``r2, v2`` at the nominal TCA) near the nominal TCA, by Newton's
    method on the range rate (fast encounters: the relative motion is a straight line over
    the few seconds of a shift), and the 2-D Pc there with the covariances at TCA."""
    rb_, vb_ = np.asarray(rb, dtype=np.float64), np.asarray(vb, dtype=np.float64)
    r2_, v2_ = np.asarray(r2, dtype=np.float64), np.asarray(v2, dtype=np.float64)
    t = 0.0
    for _ in range(8):
        s1, w1 = kepler_propagate(rb_, vb_, np.array(lead_time_s + t), mu)
        s2, w2 = kepler_propagate(r2_, v2_, np.array(t), mu)
        dr, dv = s1 - s2, w1 - w2
        step = -float(dr @ dv) / max(float(dv @ dv), 1e-300)
        t += step
        if abs(step) < 1e-7:
            break
    s1, w1 = kepler_propagate(rb_, vb_, np.array(lead_time_s + t), mu)
    s2, w2 = kepler_propagate(r2_, v2_, np.array(t), mu)
    pc = pc_2d(s1, w1, cov1, s2, w2, cov2, hbr_km, miss_convention="projected")
    return Approach(t, float(np.linalg.norm(s1 - s2)), pc)


def approach_after_vector_burn(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr_km: float,
    *,
    dv_rtn_m_s: ArrayLike,
    lead_time_s: float,
    mu: float = MU_EARTH_KM3_S2,
) -> Approach:
    """Closest approach and Pc after an RTN Δv vector ``lead_time_s`` before TCA."""
    rb, vb = burn_state_rtn(r1, v1, dv_rtn_m_s=dv_rtn_m_s, lead_time_s=lead_time_s, mu=mu)
    return closest_approach(rb, vb, lead_time_s, r2, v2, cov1, cov2, hbr_km, mu=mu)


def encounter_frame(
    r1: ArrayLike, v1: ArrayLike, cov1: ArrayLike, r2: ArrayLike, v2: ArrayLike, cov2: ArrayLike
) -> tuple[F64, F64, F64]:
    """(basis (2, 3): encounter-plane axes x, z in inertial coordinates, miss (2,) km,
    combined position covariance in the plane (2, 2) km^2); y is the relative velocity."""
    r = np.asarray(r1, dtype=np.float64) - np.asarray(r2, dtype=np.float64)
    v = np.asarray(v1, dtype=np.float64) - np.asarray(v2, dtype=np.float64)
    y = v / np.linalg.norm(v)
    z = np.cross(r, v)
    if np.linalg.norm(z) < 1e-12 * max(float(np.linalg.norm(r)), 1e-300) * np.linalg.norm(v):
        z = np.cross(y, np.eye(3)[int(np.argmin(np.abs(y)))])
    z /= np.linalg.norm(z)
    basis = np.vstack([np.cross(y, z), z])
    c = np.asarray(cov1, dtype=np.float64)[:3, :3] + np.asarray(cov2, dtype=np.float64)[:3, :3]
    return basis, basis @ r, basis @ c @ basis.T


def delta_v_jacobians(
    r1: ArrayLike,
    v1: ArrayLike,
    leads_s: ArrayLike,
    *,
    step_km_s: float = 1e-5,
    mu: float = MU_EARTH_KM3_S2,
) -> F64:
    """``J[k] = d r1(TCA) / d Δv_rtn`` (km per m/s, shape (K, 3, 3), columns R, T, N) for a
    burn ``leads_s[k]`` before TCA: two-body central differences, all burn times at once."""
    leads = np.atleast_1d(np.asarray(leads_s, dtype=np.float64))
    r1a, v1a = np.asarray(r1, dtype=np.float64), np.asarray(v1, dtype=np.float64)
    rb, vb = kepler_propagate(r1a, v1a, -leads, mu)  # (K, 3)
    axes = rtn_rotation(rb, vb)  # (K, 3, 3), rows R, T, N
    kicks = np.concatenate([axes, -axes], axis=1) * step_km_s  # (K, 6, 3)
    ends, _ = kepler_propagate(
        np.repeat(rb[:, None, :], 6, axis=1), vb[:, None, :] + kicks, leads[:, None], mu
    )
    jac = (ends[:, :3, :] - ends[:, 3:, :]) / (2.0 * step_km_s)  # (K, axis, xyz), km per km/s
    return np.asarray(np.swapaxes(jac, 1, 2) / 1000.0, dtype=np.float64)


def exit_distances(
    miss: F64, cov: F64, hbr_km: float, red_pc: float, directions: F64, *, reach: float = 60.0
) -> F64:
    """For each unit vector of ``directions`` (M, 2), the distance (km) the miss vector must
    move along it for Pc to fall under ``red_pc`` (``inf`` beyond ``reach`` combined sigmas);
    the red region is convex, so there is one exit per direction."""
    sigma = math.sqrt(float(np.linalg.eigvalsh(cov)[-1]))
    grid = np.concatenate([[0.0], np.geomspace(1e-3, reach, 28)]) * (sigma + hbr_km)
    m = len(directions)
    points = miss[None, None, :] + grid[None, :, None] * directions[:, None, :]
    pc = pc_encounter_plane_batch(
        points.reshape(-1, 2), np.broadcast_to(cov, (m * len(grid), 2, 2)), hbr_km
    ).reshape(m, len(grid))
    below = pc < red_pc
    first = np.where(below.any(axis=1), np.argmax(below, axis=1), -1)
    lo = np.where(first > 0, grid[np.maximum(first - 1, 0)], 0.0)
    hi = np.where(first >= 0, grid[np.maximum(first, 0)], np.inf)
    live = np.isfinite(hi) & (first > 0)
    for _ in range(22):  # the grid ratio is 1.5: 1.5 / 2^22 < 1e-6 relative
        mid = 0.5 * (lo + hi)
        probe = np.where(live[:, None], miss + mid[:, None] * directions, miss)
        ok = pc_encounter_plane_batch(probe, np.broadcast_to(cov, (m, 2, 2)), hbr_km) < red_pc
        hi = np.where(live & ok, mid, hi)
        lo = np.where(live & ~ok, mid, lo)
    return np.asarray(hi, dtype=np.float64)


def _linear_costs(jac: F64, basis: F64, shifts: F64) -> tuple[F64, F64]:
    """Minimum-norm Δv (m/s, shape (K, M, 3)) giving each miss shift (M, 2) at each burn time
    (K Jacobians), and its norm (K, M); a burn time that cannot reach a shift costs inf."""
    a = np.einsum("ij,kjl->kil", basis, jac)  # (K, 2, 3)
    pinv = np.linalg.pinv(a)  # (K, 3, 2)
    dv = np.einsum("kij,mj->kmi", pinv, np.nan_to_num(shifts, posinf=0.0))
    reached = np.einsum("kij,kmj->kmi", a, dv)
    miss_error = np.linalg.norm(reached - shifts[None, :, :], axis=-1)
    finite = np.asarray(np.all(np.isfinite(shifts), axis=1))
    bad = ~finite[None, :] | (
        miss_error > 1e-6 * (1.0 + np.linalg.norm(np.nan_to_num(shifts), axis=-1))[None, :]
    )
    cost = np.where(bad, np.inf, np.linalg.norm(dv, axis=-1))
    return dv, cost


def optimal_burn(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr_km: float,
    constraints: AvoidanceConstraints,
    *,
    directions: int = 180,
    mu: float = MU_EARTH_KM3_S2,
) -> VectorBurn | None:
    """The smallest RTN Δv vector, at the best burn time inside the window, that brings Pc
    under ``constraints.red_pc`` (see the module docstring); a zero burn when Pc already is;
    ``None`` when nothing up to ``constraints.max_delta_v_m_s`` does."""
    before = closest_approach(r1, v1, 0.0, r2, v2, cov1, cov2, hbr_km, mu=mu)
    lo_lead, hi_lead = constraints.min_lead_s, constraints.max_lead_s
    if before.pc < constraints.red_pc:
        return VectorBurn(hi_lead, (0.0, 0.0, 0.0), before, before)
    basis, miss, cov = encounter_frame(r1, v1, cov1, r2, v2, cov2)
    angles = np.linspace(0.0, 2 * math.pi, directions, endpoint=False)
    units = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    exits = exit_distances(miss, cov, hbr_km, constraints.red_pc, units)
    leads = burn_time_grid(r1, v1, constraints, mu=mu)
    count = len(leads)
    jacobians = delta_v_jacobians(r1, v1, leads, mu=mu)
    # With very unequal lever arms (along-track against radial, ratios of 100-1000) the cost
    # is sharp in the direction: add, for up to 64 burn times, the plane direction (both
    # senses) each moves the miss most to the fixed fan of directions.
    sub = np.unique(np.linspace(0, count - 1, min(count, 64)).astype(int))
    lever = np.linalg.svd(np.einsum("ij,kjl->kil", basis, jacobians[sub]))[0][:, :, 0]
    extra = np.concatenate([lever, -lever])
    units = np.concatenate([units, extra])
    exits = np.concatenate([exits, exit_distances(miss, cov, hbr_km, constraints.red_pc, extra)])
    _, cost = _linear_costs(jacobians, basis, exits[:, None] * units)
    k, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    if not np.isfinite(cost[k, j]):
        return None
    # Refine by coordinate descent (golden sections): the direction within one fan step,
    # with the exit distance interpolated on a 41-point fan (it varies slowly; the lever
    # term, computed exactly, carries the sharpness), then the burn time within one step.
    theta = math.atan2(float(units[j, 1]), float(units[j, 0]))
    width = 2 * math.pi / directions
    fan = theta + np.linspace(-width, width, 41)
    fan_units = np.stack([np.cos(fan), np.sin(fan)], axis=1)
    fan_exits = exit_distances(miss, cov, hbr_km, constraints.red_pc, fan_units)

    def cost_at(lead: float, angle: float) -> tuple[float, F64]:
        exit_km = float(np.interp(angle, fan, fan_exits))
        shift = exit_km * np.array([[math.cos(angle), math.sin(angle)]])
        dv, c = _linear_costs(delta_v_jacobians(r1, v1, [lead], mu=mu), basis, shift)
        return float(c[0, 0]), dv[0, 0]

    lead = float(leads[k])
    step = (hi_lead - lo_lead) / max(count - 1, 1)
    for _ in range(2):
        theta = _golden(_partial(cost_at, lead=lead), theta - width, theta + width, 1e-8)
        lo, hi = max(lo_lead, lead - step), min(hi_lead, lead + step)
        lead = _golden(_partial(cost_at, angle=theta), lo, hi, 0.5) if hi > lo else lead
        step *= 0.5
    theta = _golden(lambda x: cost_at(lead, x)[0], theta - width, theta + width, 1e-9)
    cost_fine, dv = cost_at(lead, theta)
    if not np.isfinite(cost_fine) or cost_fine > float(cost[k, j]):
        lead = float(leads[k])
        dv = _linear_costs(jacobians[k : k + 1], basis, exits[j : j + 1] * units[j : j + 1])[0][
            0, 0
        ]
    return _tighten(r1, v1, cov1, r2, v2, cov2, hbr_km, constraints, lead, dv, before, mu)


def _partial(
    cost_at: Callable[[float, float], tuple[float, F64]],
    *,
    lead: float | None = None,
    angle: float | None = None,
) -> Callable[[float], float]:
    """``cost_at`` as a function of the angle (``lead`` fixed) or of the lead (``angle``)."""
    if lead is not None:
        fixed_lead = lead
        return lambda x: cost_at(fixed_lead, x)[0]
    assert angle is not None
    fixed_angle = angle
    return lambda x: cost_at(x, fixed_angle)[0]


def _golden(f: Callable[[float], float], a: float, b: float, tolerance: float) -> float:
    """The minimiser of a unimodal ``f`` on [a, b], golden-section search to ``tolerance``."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = b - ratio * (b - a), a + ratio * (b - a)
    f1, f2 = f(x1), f(x2)
    for _ in range(200):
        if b - a < tolerance:
            break
        if f1 <= f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - ratio * (b - a)
            f1 = f(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + ratio * (b - a)
            f2 = f(x2)
    return x1 if f1 <= f2 else x2


def burn_time_grid(
    r1: ArrayLike, v1: ArrayLike, constraints: AvoidanceConstraints, *, mu: float = MU_EARTH_KM3_S2
) -> F64:
    """Burn times (s before TCA) across the window: 64 per orbit, 16 to 4096 of them."""
    period = 2 * math.pi * math.sqrt(_semi_major_axis(r1, v1, mu) ** 3 / mu)
    span = constraints.max_lead_s - constraints.min_lead_s
    count = int(min(max(64 * span / period, 16), 4096))
    return np.linspace(constraints.min_lead_s, constraints.max_lead_s, count)


def _semi_major_axis(r: ArrayLike, v: ArrayLike, mu: float) -> float:
    ra, va = np.asarray(r, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return 1.0 / (2.0 / float(np.linalg.norm(ra)) - float(va @ va) / mu)


def _tighten(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr_km: float,
    constraints: AvoidanceConstraints,
    lead: float,
    dv: F64,
    before: Approach,
    mu: float,
) -> VectorBurn | None:
    """Scale the linearised optimum ``dv`` so that the *nonlinear* Pc just clears the
    threshold (bisection on the scale, 0.1 %); None beyond the Δv limit."""

    def after(scale: float) -> Approach:
        return approach_after_vector_burn(
            r1, v1, cov1, r2, v2, cov2, hbr_km, dv_rtn_m_s=dv * scale, lead_time_s=lead, mu=mu
        )

    norm = float(np.linalg.norm(dv))
    if norm == 0.0:
        return None
    red, limit = constraints.red_pc, constraints.max_delta_v_m_s / norm
    # The linearised optimum is within a few per cent: bracket it tightly, then bisect.
    good, cleared = 1.0, after(1.0)
    if cleared.pc < red:
        bad = 0.98
        while bad > 1e-3 and after(bad).pc < red:
            good, bad = bad, bad * 0.9
        cleared = after(good)
    else:
        bad, good = good, 1.02
        cleared = after(good)
        while cleared.pc >= red:
            bad, good = good, good * 1.5
            if good > 1.5 * max(limit, 1.0):
                return None
            cleared = after(good)
    while good - bad > 1e-3 * good:
        middle = 0.5 * (good + bad)
        candidate = after(middle)
        if candidate.pc < red:
            good, cleared = middle, candidate
        else:
            bad = middle
    if good * norm > constraints.max_delta_v_m_s:
        return None
    vector = dv * good
    return VectorBurn(lead, (float(vector[0]), float(vector[1]), float(vector[2])), before, cleared)
