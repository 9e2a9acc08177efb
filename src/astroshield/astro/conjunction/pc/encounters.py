"""Generated test encounters for the 3-D Pc and the Monte Carlo referee (issue 21).

Each case is built the same way, so anyone can rebuild it from the numbers below (km, km/s):

1. the primary state from classical orbital elements (:class:`ClassicalElements`, two-body,
   Earth's ``mu`` in km^3/s^2);
2. the secondary at the same instant (t = 0, the TCA of the means): its position is the
   primary's plus ``miss_rtn`` in the primary's RTN frame; its velocity is the primary's,
   turned by ``crossing_deg`` about the radial direction, plus ``dv_rtn`` in RTN. The miss is
   chosen perpendicular to the relative velocity, so t = 0 is the linear TCA;
3. each object gets a covariance diagonal in its own RTN frame (position sigmas in km, velocity
   sigmas in km/s), rotated to the inertial frame;
4. the integration window is ``window_s`` around t = 0 (one approach only: the expected number
   of collisions then equals the probability), and the HBR is ``hbr_km``.

Nonlinear cases (the 2-D assumptions fail: relative speed of a few m/s or less, an encounter
of many minutes, velocity uncertainty comparable to the relative speed, so the relative
trajectory bends and wanders inside the covariance):

* ``geo_colocation``: two GEO satellites sharing a slot, passing 30 m apart radially at
  5 cm/s cross-track (as e/i-vector separated pairs do), along-track sigma of 1 km;
* ``leo_formation``: LEO formation flying, 50 m radial miss at 2 m/s cross-track with
  0.5 m/s velocity sigmas;
* ``leo_long_encounter``: LEO pair crossing at 0.3 m/s: the conjunction lasts ~10 minutes;
* ``leo_near_zero_speed``: co-orbiting LEO pair at 2 cm/s, velocity uncertainty (5 cm/s)
  dominating the relative motion.

Linear cases (fast LEO crossings, encounter of well under a second): ``leo_crossing_*``.

The Pc of the nonlinear cases is >= ~0.01 so that a 10^7-sample Monte Carlo 99 % interval is
<= 2 % wide (relative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from astroshield.astro.dynamics.frames import covariance_from_rtn, rtn_rotation
from astroshield.astro.dynamics.orbit import ClassicalElements, state_from_elements

F64 = NDArray[np.float64]

__all__ = ["LINEAR_SPECS", "NONLINEAR_SPECS", "Encounter", "EncounterSpec", "build_encounter"]


@dataclass(frozen=True)
class EncounterSpec:
    """Recipe of one encounter (see the module docstring)."""

    name: str
    why: str
    primary: ClassicalElements
    miss_rtn: tuple[float, float, float]
    dv_rtn: tuple[float, float, float] = (0.0, 0.0, 0.0)
    crossing_deg: float = 0.0
    sigma1_rtn: tuple[float, float, float, float, float, float] = (0.1, 0.3, 0.1, 1e-5, 1e-5, 1e-5)
    sigma2_rtn: tuple[float, float, float, float, float, float] = (0.1, 0.3, 0.1, 1e-5, 1e-5, 1e-5)
    hbr_km: float = 0.02
    window_s: float = 60.0


@dataclass(frozen=True)
class Encounter:
    """States (km, km/s) at t = 0, 6x6 inertial covariances, HBR (km), window (s)."""

    name: str
    r1: F64
    v1: F64
    cov1: F64
    r2: F64
    v2: F64
    cov2: F64
    hbr: float
    window: tuple[float, float]


def _elements(
    a_km: float, e: float, i: float, raan: float, argp: float, nu: float
) -> ClassicalElements:
    return ClassicalElements(a_km * (1.0 - e * e), a_km, e, i, raan, argp, nu)


def build_encounter(spec: EncounterSpec) -> Encounter:
    """Build the encounter of ``spec`` (see the module docstring for the recipe)."""
    r1, v1 = state_from_elements(spec.primary)
    rtn = rtn_rotation(r1, v1)  # rows R, T, N in inertial coordinates
    ang = math.radians(spec.crossing_deg)
    # Rodrigues rotation of v1 about the radial unit vector.
    axis = rtn[0]
    v_turn = (
        v1 * math.cos(ang)
        + np.cross(axis, v1) * math.sin(ang)
        + axis * float(axis @ v1) * (1.0 - math.cos(ang))
    )
    r2 = r1 + rtn.T @ np.asarray(spec.miss_rtn)
    v2 = v_turn + rtn.T @ np.asarray(spec.dv_rtn)
    c1 = covariance_from_rtn(np.diag(np.square(spec.sigma1_rtn)), r1, v1)
    c2 = covariance_from_rtn(np.diag(np.square(spec.sigma2_rtn)), r2, v2)
    half = 0.5 * spec.window_s
    return Encounter(
        spec.name,
        r1,
        v1,
        0.5 * (c1 + c1.T),
        r2,
        v2,
        0.5 * (c2 + c2.T),
        spec.hbr_km,
        (-half, half),
    )


_GEO = _elements(42164.17, 2.0e-4, 0.05, 80.0, 30.0, 10.0)
_LEO = _elements(7078.14, 1.0e-3, 98.2, 120.0, 40.0, 25.0)

NONLINEAR_SPECS: tuple[EncounterSpec, ...] = (
    EncounterSpec(
        "geo_colocation",
        "GEO slot sharing: 5 cm/s cross-track, an encounter of about an hour",
        _GEO,
        miss_rtn=(0.03, 0.0, 0.0),
        dv_rtn=(0.0, 0.0, 5e-5),
        sigma1_rtn=(0.1, 1.0, 0.1, 2e-5, 1e-5, 2e-5),
        sigma2_rtn=(0.12, 1.2, 0.12, 2e-5, 1e-5, 2e-5),
        hbr_km=0.1,
        window_s=21600.0,
    ),
    EncounterSpec(
        "leo_formation",
        "LEO formation flying: 2 m/s cross-track, 0.5 m/s velocity sigmas",
        _LEO,
        miss_rtn=(0.05, 0.0, 0.0),
        dv_rtn=(0.0, 0.0, 2e-3),
        sigma1_rtn=(0.05, 0.5, 0.05, 5e-4, 2e-4, 5e-4),
        sigma2_rtn=(0.05, 0.5, 0.05, 5e-4, 2e-4, 5e-4),
        hbr_km=0.05,
        window_s=1200.0,
    ),
    EncounterSpec(
        "leo_long_encounter",
        "LEO pair crossing at 0.3 m/s: a conjunction of ~10 minutes",
        _LEO,
        miss_rtn=(0.04, 0.0, 0.0),
        dv_rtn=(0.0, 0.0, 3e-4),
        sigma1_rtn=(0.04, 0.4, 0.1, 1e-4, 5e-5, 1e-4),
        sigma2_rtn=(0.04, 0.4, 0.1, 1e-4, 5e-5, 1e-4),
        hbr_km=0.05,
        window_s=3000.0,
    ),
    EncounterSpec(
        "leo_near_zero_speed",
        "co-orbiting LEO pair at 2 cm/s, 5 cm/s velocity uncertainty",
        _LEO,
        miss_rtn=(0.03, 0.0, 0.0),
        dv_rtn=(0.0, 0.0, 2e-5),
        sigma1_rtn=(0.03, 0.3, 0.05, 5e-5, 2e-5, 5e-5),
        sigma2_rtn=(0.03, 0.3, 0.05, 5e-5, 2e-5, 5e-5),
        hbr_km=0.03,
        window_s=3000.0,
    ),
)

LINEAR_SPECS: tuple[EncounterSpec, ...] = tuple(
    EncounterSpec(
        f"leo_crossing_{deg}deg",
        f"fast LEO crossing at {deg} deg",
        _LEO,
        miss_rtn=(0.03, 0.0, 0.0),
        crossing_deg=float(deg),
        sigma1_rtn=(0.05, 0.3, 0.05, 1e-5, 1e-5, 1e-5),
        sigma2_rtn=(0.08, 0.5, 0.08, 1e-5, 1e-5, 1e-5),
        hbr_km=0.02,
        window_s=10.0,
    )
    for deg in (30, 80, 150)
)
