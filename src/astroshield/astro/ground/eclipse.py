"""Eclipse (Earth shadow) intervals of a satellite: umbra and penumbra entry and exit times.

Geometry (Montenbruck & Gill, *Satellite Orbits*, 2000, §3.4.2): seen from the satellite the
Sun is a disc of angular radius ``θs = asin(R_sun / |s - r|)`` and the Earth a disc of
``θe = asin(R_earth / |r|)``, their centres ``σ`` apart. The satellite is in umbra when
``σ < θe - θs`` and in penumbra when ``θe - θs <= σ < θe + θs`` (the "conical" model). The
"cylindrical" model instead calls the satellite shadowed when it is behind the Earth
(``r · ŝ < 0``) within ``R_earth`` of the Earth-Sun line; it has no penumbra.

* Earth: a sphere of the WGS84 equatorial radius, no atmosphere. The polar flattening (21 km)
  can move the entry/exit of a LEO orbit crossing the shadow at high latitude by a few seconds,
  and refraction and absorption in the atmosphere soften the real boundary by a similar amount.
* Sun: the geometric geocentric position from ERFA ``epv00`` (the analytic VSOP2000-based
  Earth ephemeris that astropy's built-in ephemeris uses), in GCRF axes, with TT used for TDB
  (< 2 ms apart). Light time and aberration are not applied; they move the Sun by ~20", and
  the tests check the direction against astropy ``get_body("sun")`` (GCRS) to < 0.01°.
  Radius: the IAU 2015 nominal solar radius, 695,700 km.
* Satellite: SGP4 (TEME) rotated to GCRF with
  :func:`astroshield.astro.dynamics.frames.teme_to_gcrf`.

Entry and exit are found with :func:`astroshield.astro.ground.passes.find_intervals` (coarse grid,
Brent's method to 0.1 s, local extrema refined so grazing eclipses are not lost). Intervals are
clipped to the requested window. Where SGP4 fails (e.g. after decay) the satellite is treated
as sunlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import erfa
import numpy as np
from numpy.typing import NDArray

from astroshield.astro.dynamics.frames import WGS84_A_KM, teme_to_gcrf
from astroshield.astro.dynamics.propagation import Satellite, TimesLike, propagate
from astroshield.astro.dynamics.timescales import utc_jd, utc_to_tt
from astroshield.astro.ground.passes import (
    DEFAULT_TOLERANCE_S,
    as_satrec,
    coarse_step_s,
    find_intervals,
)

__all__ = [
    "EclipseInterval",
    "ShadowModel",
    "eclipse_intervals",
    "shadow_periods",
    "sun_position_gcrf_km",
]

FloatArray = NDArray[np.float64]
ShadowModel = Literal["conical", "cylindrical"]
ShadowKind = Literal["umbra", "penumbra"]

AU_KM = 149_597_870.700
SUN_RADIUS_KM = 695_700.0
EARTH_RADIUS_KM = WGS84_A_KM
_SUNLIT = -1.0


@dataclass(frozen=True)
class EclipseInterval:
    start: datetime
    stop: datetime
    kind: ShadowKind

    @property
    def duration_s(self) -> float:
        return (self.stop - self.start).total_seconds()


def sun_position_gcrf_km(times: TimesLike) -> FloatArray:
    """Geometric geocentric Sun position (km, GCRF axes), shape (N, 3); see module notes."""
    tt1, tt2 = utc_to_tt(*utc_jd(times))
    heliocentric_earth, _ = erfa.epv00(tt1, tt2)
    return np.asarray(-heliocentric_earth["p"] * AU_KM, dtype=np.float64).reshape(-1, 3)


def _satellite_gcrf(
    satellite: Satellite, instants: NDArray[np.datetime64]
) -> tuple[FloatArray, NDArray[np.bool_]]:
    result = propagate([satellite], instants)
    ok = result.error_codes[0] == 0
    r = np.full((len(instants), 3), np.nan)
    if ok.any():
        r_gcrf, _ = teme_to_gcrf(result.r_km[0][ok], result.v_km_s[0][ok], instants[ok])
        r[ok] = np.atleast_2d(r_gcrf)
    return r, ok


def _shadow_functions(
    r_km: FloatArray, sun_km: FloatArray, model: ShadowModel
) -> tuple[FloatArray, FloatArray]:
    """(in any shadow, in umbra) indicator functions: positive inside, zero on the boundary."""
    r_norm = np.linalg.norm(r_km, axis=1)
    if model == "cylindrical":
        sun_hat = sun_km / np.linalg.norm(sun_km, axis=1, keepdims=True)
        along = np.einsum("ij,ij->i", r_km, sun_hat)
        perpendicular = np.linalg.norm(r_km - along[:, None] * sun_hat, axis=1)
        # Continuous at r·ŝ = 0, where the perpendicular distance equals |r|.
        umbra = EARTH_RADIUS_KM - np.where(along < 0, perpendicular, r_norm)
        return umbra, umbra
    to_sun = sun_km - r_km
    to_sun_norm = np.linalg.norm(to_sun, axis=1)
    sun_radius = np.arcsin(SUN_RADIUS_KM / to_sun_norm)
    earth_radius = np.arcsin(np.clip(EARTH_RADIUS_KM / r_norm, -1.0, 1.0))
    cosine = -np.einsum("ij,ij->i", r_km, to_sun) / (r_norm * to_sun_norm)
    separation = np.arccos(np.clip(cosine, -1.0, 1.0))
    return earth_radius + sun_radius - separation, earth_radius - sun_radius - separation


def eclipse_intervals(
    satellite: Satellite,
    start: datetime,
    stop: datetime,
    *,
    model: ShadowModel = "conical",
    step_s: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[EclipseInterval]:
    """Shadow intervals in ``[start, stop]``, in time order; for the conical model a typical
    eclipse is three intervals: penumbra, umbra, penumbra."""
    _check_window(start, stop, model)
    satrec = as_satrec(satellite)
    step = step_s or coarse_step_s(satrec)
    duration = (stop - start).total_seconds()
    origin = np.datetime64(start.replace(tzinfo=None) - (start.utcoffset() or timedelta()), "ns")

    def functions(seconds: FloatArray) -> tuple[FloatArray, FloatArray]:
        instants = origin + np.round(np.asarray(seconds) * 1e9).astype("timedelta64[ns]")
        r, ok = _satellite_gcrf(satrec, instants)
        shadow, umbra = _shadow_functions(
            np.where(ok[:, None], r, 1.0), sun_position_gcrf_km(instants), model
        )
        return np.where(ok, shadow, _SUNLIT), np.where(ok, umbra, _SUNLIT)

    def in_shadow(seconds: FloatArray) -> FloatArray:
        return functions(seconds)[0]

    def in_umbra(seconds: FloatArray) -> FloatArray:
        return functions(seconds)[1]

    shadows = find_intervals(in_shadow, duration, step, tolerance_s=tolerance_s)
    if model == "cylindrical":
        return [_interval(start, a, b, "umbra") for a, b in shadows]
    umbras = find_intervals(in_umbra, duration, step, tolerance_s=tolerance_s)
    return [interval for shadow in shadows for interval in _split_shadow(start, shadow, umbras)]


def _check_window(start: datetime, stop: datetime, model: ShadowModel) -> None:
    if start.tzinfo is None or stop.tzinfo is None:
        raise ValueError("start and stop must be timezone-aware UTC datetimes")
    if stop <= start:
        raise ValueError("stop must be after start")
    if model not in ("conical", "cylindrical"):
        raise ValueError(f"model must be 'conical' or 'cylindrical', not {model!r}")


def _split_shadow(
    origin: datetime, shadow: tuple[float, float], umbras: list[tuple[float, float]]
) -> list[EclipseInterval]:
    """One shadow interval (seconds from ``origin``) as penumbra, umbra, penumbra pieces."""
    shadow_start, shadow_stop = shadow
    result: list[EclipseInterval] = []
    cursor = shadow_start
    for umbra_start, umbra_stop in umbras:
        if umbra_stop <= shadow_start or umbra_start >= shadow_stop:
            continue
        # Both searches resolve to the tolerance, so clamp the umbra inside its shadow.
        piece_start, piece_stop = max(umbra_start, cursor), min(umbra_stop, shadow_stop)
        if piece_start > cursor:
            result.append(_interval(origin, cursor, piece_start, "penumbra"))
        result.append(_interval(origin, piece_start, piece_stop, "umbra"))
        cursor = piece_stop
    if shadow_stop > cursor:
        result.append(_interval(origin, cursor, shadow_stop, "penumbra"))
    return result


def _interval(origin: datetime, start_s: float, stop_s: float, kind: ShadowKind) -> EclipseInterval:
    return EclipseInterval(
        origin + timedelta(seconds=start_s), origin + timedelta(seconds=stop_s), kind
    )


def shadow_periods(intervals: list[EclipseInterval]) -> list[tuple[datetime, datetime]]:
    """Whole eclipses: touching penumbra/umbra intervals merged into (entry, exit) pairs."""
    merged: list[tuple[datetime, datetime]] = []
    for interval in intervals:
        if merged and interval.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], interval.stop))
        else:
            merged.append((interval.start, interval.stop))
    return merged
