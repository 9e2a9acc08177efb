"""Alfano maximum Pc: the largest 2-D Pc over a scale of the combined covariance.

S. Alfano, "Relating position uncertainty to maximum conjunction probability", J. Astronaut.
Sci. 53(2), 2005.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from astroshield.astro.conjunction.pc.planar.geometry import encounter_plane
from astroshield.astro.conjunction.pc.planar.integrals import foster_circle
from astroshield.astro.conjunction.pc.planar.scalar import pc_encounter_plane_result
from astroshield.astro.dynamics.covariance import NotRemediableCovarianceError


@dataclass(frozen=True)
class PcMaxResult:
    """Alfano maximum Pc: ``pc`` reached when the combined covariance is scaled by ``k_squared``.

    ``bounded`` is True when there is no interior maximum: the miss point is inside the
    hard-body disk (Pc -> 1 as k -> 0, reported as ``pc=1``, ``k_squared=0``) or the optimum sits
    at the edge of the search interval. When the projected covariance cannot be remediated all
    three numbers are NaN and ``undefined_reason`` says why.
    """

    pc: float
    k_squared: float
    pc_unscaled: float
    bounded: bool
    undefined_reason: str | None = None

    @property
    def k(self) -> float:
        """Scale factor on standard deviations (``sqrt(k_squared)``)."""
        return math.sqrt(self.k_squared)


def pc_max_encounter_plane(
    miss_xy: ArrayLike, cov_2x2: ArrayLike, hbr: float, *, repair: bool = True
) -> PcMaxResult:
    """Alfano (2005) maximum Pc over a scale ``k^2`` applied to the combined covariance.

    Searches ``log(k^2)`` with bounded Brent around the small-HBR optimum ``k^2 = d^2 / 2``
    (``d`` the Mahalanobis miss distance, for which Alfano gives
    ``Pc_max = HBR^2 / (e d^2 sigma_x sigma_y)``), evaluating the exact Foster integral.
    """
    base = pc_encounter_plane_result(miss_xy, cov_2x2, hbr, "foster", repair=repair)
    if base.undefined_reason is not None:
        return PcMaxResult(math.nan, math.nan, math.nan, False, base.undefined_reason)
    if hbr <= 0.0:
        return PcMaxResult(0.0, 1.0, 0.0, False)
    miss = base.miss
    cov = base.covariance
    if float(np.hypot(miss[0], miss[1])) < hbr:
        # Origin inside the disk: Pc -> 1 as k -> 0, there is no interior maximum.
        return PcMaxResult(1.0, 0.0, base.value, True)
    d2 = float(miss @ np.linalg.solve(cov, miss))
    guess = max(d2 / 2.0, 1e-12)
    lo, hi = math.log(guess) - 12.0, math.log(guess) + 12.0

    def neg(logk2: float) -> float:
        return -foster_circle(miss, cov * math.exp(logk2), hbr, 1e-9)

    res = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    logk2 = float(res.x)
    pc = -float(res.fun)
    bounded = logk2 - lo < 1e-3 or hi - logk2 < 1e-3
    return PcMaxResult(pc, math.exp(logk2), base.value, bounded)


def pc_max(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    *,
    repair: bool = True,
) -> PcMaxResult:
    """Alfano maximum Pc for a conjunction given as two inertial states (see
    :func:`pc_max_encounter_plane`)."""
    try:
        ep = encounter_plane(r1, v1, cov1, r2, v2, cov2, hbr, repair=repair)
    except NotRemediableCovarianceError as exc:
        return PcMaxResult(math.nan, math.nan, math.nan, False, str(exc))
    return pc_max_encounter_plane(ep.miss, ep.covariance, hbr, repair=repair)
