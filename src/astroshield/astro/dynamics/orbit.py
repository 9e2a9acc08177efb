"""Orbit geometry from states and elements: classical elements, apsides, period, regime.

Two-body relations (Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed.,
algorithms 9 RV2COE and 10 COE2RV). Orbit classes follow the ESA Space Environment Report
(ESA Space Debris Office, annual), which defines each class by perigee and apogee altitude,
semi-major axis, eccentricity and inclination; ``regime`` folds them into the five classes
operators speak of (LEO, MEO, GEO, GTO, HEO).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

MU_EARTH_KM3_S2 = 398_600.4418
EARTH_EQUATORIAL_RADIUS_KM = 6_378.137  # WGS84
_SMALL = 1e-11


@dataclass(frozen=True)
class ClassicalElements:
    """Osculating two-body elements; angles in degrees, ``a``/``p`` in km.

    For circular or equatorial orbits the undefined angles are reported as 0 and the
    position is carried by the true anomaly (Vallado's special cases are not split out).
    """

    p_km: float
    a_km: float
    e: float
    i_deg: float
    raan_deg: float
    argp_deg: float
    true_anomaly_deg: float

    @property
    def perigee_altitude_km(self) -> float:
        return self.a_km * (1 - self.e) - EARTH_EQUATORIAL_RADIUS_KM

    @property
    def apogee_altitude_km(self) -> float:
        return self.a_km * (1 + self.e) - EARTH_EQUATORIAL_RADIUS_KM

    @property
    def period_s(self) -> float:
        return orbital_period_s(self.a_km)


def _angle(u: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    cosine = float(np.dot(u, w) / (np.linalg.norm(u) * np.linalg.norm(w)))
    return math.acos(max(-1.0, min(1.0, cosine)))


def classical_elements(
    r_km: ArrayLike, v_km_s: ArrayLike, mu: float = MU_EARTH_KM3_S2
) -> ClassicalElements:
    """RV2COE for one state (any inertial frame; angles refer to its equator)."""
    r = np.asarray(r_km, dtype=np.float64)
    v = np.asarray(v_km_s, dtype=np.float64)
    r_norm, v_norm = float(np.linalg.norm(r)), float(np.linalg.norm(v))
    if r_norm <= 0 or not math.isfinite(r_norm + v_norm):
        raise ValueError("state must be finite with a non-zero position")
    h = np.cross(r, v)
    h_norm = float(np.linalg.norm(h))
    if h_norm < _SMALL:
        raise ValueError("rectilinear motion (zero angular momentum) has no orbit elements")
    node = np.cross([0.0, 0.0, 1.0], h)
    node_norm = float(np.linalg.norm(node))
    e_vec = ((v_norm**2 - mu / r_norm) * r - float(np.dot(r, v)) * v) / mu
    e = float(np.linalg.norm(e_vec))
    energy = v_norm**2 / 2 - mu / r_norm
    a = -mu / (2 * energy) if abs(e - 1.0) > _SMALL else math.inf
    p = h_norm**2 / mu
    i = math.acos(max(-1.0, min(1.0, h[2] / h_norm)))
    raan = argp = 0.0
    if node_norm > _SMALL:
        raan = math.acos(max(-1.0, min(1.0, node[0] / node_norm)))
        if node[1] < 0:
            raan = 2 * math.pi - raan
        if e > _SMALL:
            argp = _angle(node, e_vec)
            if e_vec[2] < 0:
                argp = 2 * math.pi - argp
    if e > _SMALL:
        nu = _angle(e_vec, r)
        if float(np.dot(r, v)) < 0:
            nu = 2 * math.pi - nu
    else:  # circular: argument of latitude from the node (or true longitude if equatorial)
        reference = node if node_norm > _SMALL else np.array([1.0, 0.0, 0.0])
        nu = _angle(reference, r)
        if (r[2] if node_norm > _SMALL else r[1]) < 0:
            nu = 2 * math.pi - nu
    return ClassicalElements(
        p, a, e, math.degrees(i), math.degrees(raan), math.degrees(argp), math.degrees(nu)
    )


def state_from_elements(
    elements: ClassicalElements, mu: float = MU_EARTH_KM3_S2
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """COE2RV: position (km) and velocity (km/s) in the inertial frame of the elements."""
    p, e = elements.p_km, elements.e
    i, raan, argp, nu = (
        math.radians(x)
        for x in (elements.i_deg, elements.raan_deg, elements.argp_deg, elements.true_anomaly_deg)
    )
    r_pqw = np.array([p * math.cos(nu), p * math.sin(nu), 0.0]) / (1 + e * math.cos(nu))
    v_pqw = np.array([-math.sin(nu), e + math.cos(nu), 0.0]) * math.sqrt(mu / p)
    cr, sr, ci, si, ca, sa = (
        math.cos(raan),
        math.sin(raan),
        math.cos(i),
        math.sin(i),
        math.cos(argp),
        math.sin(argp),
    )
    rotation = np.array(
        [
            [cr * ca - sr * sa * ci, -cr * sa - sr * ca * ci, sr * si],
            [sr * ca + cr * sa * ci, -sr * sa + cr * ca * ci, -cr * si],
            [sa * si, ca * si, ci],
        ]
    )
    return rotation @ r_pqw, rotation @ v_pqw


def orbital_period_s(a_km: float, mu: float = MU_EARTH_KM3_S2) -> float:
    if a_km <= 0:
        raise ValueError("only closed orbits (a > 0) have a period")
    return 2 * math.pi * math.sqrt(a_km**3 / mu)


def semi_major_axis_from_mean_motion(
    mean_motion_rev_day: float, mu: float = MU_EARTH_KM3_S2
) -> float:
    """Kepler's third law from a TLE/OMM mean motion (a mean, not osculating, value)."""
    n = mean_motion_rev_day * 2 * math.pi / 86_400.0
    return float((mu / n**2) ** (1 / 3))


class OrbitClass(StrEnum):
    """ESA Space Environment Report orbit classes."""

    GEO = "GEO"  # geostationary
    IGO = "IGO"  # inclined geosynchronous
    EGO = "EGO"  # extended geostationary
    NSO = "NSO"  # navigation satellites
    GTO = "GTO"  # GEO transfer
    MEO = "MEO"
    GHO = "GHO"  # GEO-superGEO crossing
    LEO = "LEO"
    HAO = "HAO"  # high altitude
    MGO = "MGO"  # MEO-GEO crossing
    HEO = "HEO"  # highly eccentric
    LMO = "LMO"  # LEO-MEO crossing
    UFO = "UFO"  # undefined


class Regime(StrEnum):
    LEO = "LEO"
    MEO = "MEO"
    GEO = "GEO"
    GTO = "GTO"
    HEO = "HEO"


def esa_orbit_class(a_km: float, e: float, i_deg: float) -> OrbitClass:
    """The ESA class of an orbit, tested in the report's order (first match wins)."""
    hp = a_km * (1 - e) - EARTH_EQUATORIAL_RADIUS_KM
    ha = a_km * (1 + e) - EARTH_EQUATORIAL_RADIUS_KM
    return _named_class(a_km, e, i_deg, hp, ha) or _altitude_class(hp, ha)


def _named_class(a_km: float, e: float, i_deg: float, hp: float, ha: float) -> OrbitClass | None:
    """The first rules of the report's table: the classes that depend on a, e or i."""
    if 0 <= i_deg <= 25 and 35_586 <= hp <= 35_986 and 35_586 <= ha <= 35_986:
        return OrbitClass.GEO
    if 37_948 <= a_km <= 46_380 and 0 <= e <= 0.25:
        return OrbitClass.IGO if i_deg > 25 else OrbitClass.EGO
    if 50 <= i_deg <= 70 and 18_100 <= hp <= 24_300 and 18_100 <= ha <= 24_300:
        return OrbitClass.NSO
    if i_deg <= 90 and 0 <= hp <= 2_000 and 31_570 <= ha <= 40_002:
        return OrbitClass.GTO
    return None


def _altitude_class(hp: float, ha: float) -> OrbitClass:
    """The remaining rules, in the report's order: perigee and apogee altitude bands only."""
    if 2_000 <= hp <= 31_570 and 2_000 <= ha <= 31_570:
        return OrbitClass.MEO
    if 31_570 <= hp <= 40_002 and ha > 40_002:
        return OrbitClass.GHO
    if 0 <= hp <= 2_000 and 0 <= ha <= 2_000:
        return OrbitClass.LEO
    if hp > 40_002 and ha > 40_002:
        return OrbitClass.HAO
    if 2_000 <= hp <= 31_570 and 31_570 <= ha <= 40_002:
        return OrbitClass.MGO
    if 0 <= hp <= 31_570 and ha > 40_002:
        return OrbitClass.HEO
    if 0 <= hp <= 2_000 and 2_000 <= ha <= 31_570:
        return OrbitClass.LMO
    return OrbitClass.UFO


_REGIME = {
    OrbitClass.GEO: Regime.GEO,
    OrbitClass.IGO: Regime.GEO,
    OrbitClass.EGO: Regime.GEO,
    OrbitClass.NSO: Regime.MEO,
    OrbitClass.MEO: Regime.MEO,
    OrbitClass.GTO: Regime.GTO,
    OrbitClass.LEO: Regime.LEO,
}


# ESA's GTO box is purely geometric and also holds Molniya orbits (perigee below 2,000 km,
# apogee under 40,002 km); at their critical inclination (63.4 deg) they are the textbook
# HEO, and operators expect them there. Transfer orbits are flown far lower (< 55 deg).
MOLNIYA_MIN_INCLINATION_DEG = 55.0


def regime(a_km: float, e: float, i_deg: float) -> Regime:
    """LEO, MEO, GEO, GTO, or HEO for every eccentric or crossing class."""
    orbit_class = esa_orbit_class(a_km, e, i_deg)
    if orbit_class is OrbitClass.GTO and i_deg >= MOLNIYA_MIN_INCLINATION_DEG:
        return Regime.HEO
    return _REGIME.get(orbit_class, Regime.HEO)
