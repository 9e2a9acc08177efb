"""Look angles from a ground station and visibility passes (rise, culmination, set).

Topocentric coordinates: the satellite's SGP4 state is rotated TEME -> ITRF
(:func:`astroshield.astro.dynamics.frames.teme_to_itrf`), the station's WGS84 position subtracted,
and
the difference resolved on the local East-North-Up axes of the station's *geodetic* vertical.
Azimuth is measured from north through east in [0, 360), elevation from the geodetic horizon;
there is no atmospheric refraction (as astropy's ``AltAz`` with ``pressure=0``, the reference
used in the tests) and no light-time or aberration (both below 0.001° for a satellite).

Pass search (:func:`passes`): elevation is sampled on a coarse grid (a fraction of the orbital
period, 10-300 s), rise and set are the sign changes of ``elevation - min_elevation`` refined
with Brent's method to ``tolerance_s`` (0.1 s by default), and every local maximum of the
sampled curve that stays below the mask is refined as well, so a grazing pass shorter than the
grid step is still found. The culmination is the refined maximum inside the pass. A pass
already in view at ``start`` (or still in view at ``stop``) is cut at the window and flagged.

:func:`find_intervals` is the generic part (where does a smooth function of time exceed zero)
and is reused by :mod:`astroshield.astro.ground.eclipse`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq, minimize_scalar
from sgp4.api import Satrec

from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.dynamics.frames import geodetic_to_itrf, teme_to_itrf
from astroshield.astro.dynamics.propagation import Satellite, TimesLike, julian_dates, propagate
from astroshield.astro.formats.tle import TLE

__all__ = [
    "GroundStation",
    "LookAngles",
    "Pass",
    "as_satrec",
    "coarse_step_s",
    "find_intervals",
    "look_angles",
    "passes",
]

FloatArray = NDArray[np.float64]
ScalarFunction = Callable[[FloatArray], FloatArray]

DEFAULT_TOLERANCE_S = 0.1
_MIN_STEP_S = 10.0
_MAX_STEP_S = 300.0
_STEPS_PER_PERIOD = 80
_NOT_VISIBLE_DEG = -90.0


@dataclass(frozen=True)
class GroundStation:
    """A site on the WGS84 ellipsoid: geodetic latitude/longitude (deg), height (km)."""

    lat_deg: float
    lon_deg: float
    alt_km: float = 0.0
    name: str | None = None

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat_deg <= 90.0:
            raise ValueError(f"lat_deg {self.lat_deg} is not within -90..90")
        if not -180.0 <= self.lon_deg <= 360.0:
            raise ValueError(f"lon_deg {self.lon_deg} is not within -180..360")
        if not -1.0 <= self.alt_km <= 100.0:
            raise ValueError(f"alt_km {self.alt_km} is not within -1..100")

    def itrf_km(self) -> FloatArray:
        return geodetic_to_itrf(math.radians(self.lat_deg), math.radians(self.lon_deg), self.alt_km)

    def enu_rotation(self) -> FloatArray:
        """Rows are the East, North and Up unit vectors in ITRF."""
        lat, lon = math.radians(self.lat_deg), math.radians(self.lon_deg)
        sin_lat, cos_lat, sin_lon, cos_lon = (
            math.sin(lat),
            math.cos(lat),
            math.sin(lon),
            math.cos(lon),
        )
        return np.array(
            [
                [-sin_lon, cos_lon, 0.0],
                [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat],
                [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat],
            ]
        )


@dataclass(frozen=True)
class LookAngles:
    """Azimuth, elevation (deg), range (km) and range rate (km/s) per time.

    Where ``error_codes`` is non-zero SGP4 failed at that time and the values are NaN.
    """

    azimuth_deg: FloatArray
    elevation_deg: FloatArray
    range_km: FloatArray
    range_rate_km_s: FloatArray
    error_codes: NDArray[np.uint8]


@dataclass(frozen=True)
class Pass:
    """One pass above the elevation mask; times are UTC."""

    rise: datetime
    culmination: datetime
    set: datetime
    max_elevation_deg: float
    rise_azimuth_deg: float
    culmination_azimuth_deg: float
    set_azimuth_deg: float
    starts_before_window: bool = False
    """In view already at the window start: ``rise`` is the window start, not a true rise."""
    ends_after_window: bool = False
    """Still in view at the window end: ``set`` is the window end, not a true set."""

    @property
    def duration_s(self) -> float:
        return (self.set - self.rise).total_seconds()


def as_satrec(satellite: Satellite) -> Satrec:
    """The SGP4 record of an element set, TLE or record (built once, reused by callers)."""
    if isinstance(satellite, Satrec):
        return satellite
    if isinstance(satellite, TLE):
        return satellite.satrec()
    if isinstance(satellite, ElementSet):
        return to_satrec(satellite)
    raise TypeError(f"cannot propagate {type(satellite).__name__}")


def coarse_step_s(satrec: Satrec) -> float:
    """Search grid step: a fraction of the orbital period, kept within 10-300 s."""
    period_s = 2.0 * math.pi / float(satrec.no_kozai) * 60.0
    return min(_MAX_STEP_S, max(_MIN_STEP_S, period_s / _STEPS_PER_PERIOD))


def _datetime64(times: TimesLike) -> NDArray[np.datetime64]:
    dates = julian_dates(times)
    days = (dates.whole - 2440587.5) + dates.fraction
    nanoseconds = np.round(days * 86_400_000_000_000).astype(np.int64)
    return nanoseconds.astype("datetime64[ns]")


def _topocentric(
    satrec: Satrec, station: GroundStation, instants: NDArray[np.datetime64]
) -> LookAngles:
    result = propagate([satrec], instants)
    codes = result.error_codes[0].copy()
    count = len(codes)
    azimuth, elevation, distance, rate = (np.full(count, np.nan) for _ in range(4))
    ok = codes == 0
    if ok.any():
        r_itrf, v_itrf = teme_to_itrf(result.r_km[0][ok], result.v_km_s[0][ok], instants[ok])
        relative = np.atleast_2d(r_itrf) - station.itrf_km()
        enu = relative @ station.enu_rotation().T
        rho = np.linalg.norm(enu, axis=1)
        azimuth[ok] = np.degrees(np.arctan2(enu[:, 0], enu[:, 1])) % 360.0
        elevation[ok] = np.degrees(np.arcsin(np.clip(enu[:, 2] / rho, -1.0, 1.0)))
        distance[ok] = rho
        rate[ok] = np.einsum("ij,ij->i", relative, np.atleast_2d(v_itrf)) / rho
    return LookAngles(azimuth, elevation, distance, rate, codes)


def look_angles(satellite: Satellite, station: GroundStation, times: TimesLike) -> LookAngles:
    """Topocentric azimuth/elevation/range of one object from ``station`` at ``times``."""
    return _topocentric(as_satrec(satellite), station, _datetime64(times))


class _Samples(NamedTuple):
    """A function sampled at sorted times (seconds)."""

    t_s: FloatArray
    values: FloatArray


def find_intervals(
    func: ScalarFunction,
    duration_s: float,
    step_s: float,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[tuple[float, float]]:
    """Sub-intervals of ``[0, duration_s]`` where the smooth ``func`` (vectorised over
    seconds) is positive, ends refined to ``tolerance_s``.

    A positive excursion shorter than ``step_s`` is found when it shows as a local maximum of
    the samples (true for the slowly varying geometry functions used here); two excursions
    within one step of each other may merge.
    """
    if duration_s <= 0:
        raise ValueError("the window must have a positive duration")
    count = max(2, math.ceil(duration_s / step_s) + 1)
    grid = np.linspace(0.0, duration_s, count)
    samples = _with_hidden_peaks(
        func, _Samples(grid, np.asarray(func(grid), dtype=np.float64)), tolerance_s
    )
    grid, values = samples

    def scalar(t: float) -> float:
        return float(func(np.array([t]))[0])

    intervals: list[tuple[float, float]] = []
    opened: float | None = 0.0 if values[0] > 0 else None
    for index in range(1, len(grid)):
        before, after = values[index - 1], values[index]
        if (before > 0) == (after > 0):
            continue
        if before == 0:
            crossing = float(grid[index - 1])
        elif after == 0:
            crossing = float(grid[index])
        else:
            crossing = float(brentq(scalar, grid[index - 1], grid[index], xtol=tolerance_s))
        if after > 0:
            opened = crossing
        elif opened is not None:
            intervals.append((opened, crossing))
            opened = None
    if opened is not None:
        intervals.append((opened, duration_s))
    return intervals


def _with_hidden_peaks(func: ScalarFunction, samples: _Samples, tolerance_s: float) -> _Samples:
    """The samples plus the positive maxima hidden between grid points.

    A non-positive local maximum of the samples may hide a short positive excursion; its
    true maximum is found with a bounded search and added when positive.
    """
    grid, values = samples

    def scalar(t: float) -> float:
        return float(func(np.array([t]))[0])

    extra_t: list[float] = []
    extra_v: list[float] = []
    for index in range(1, len(grid) - 1):
        here = values[index]
        if here <= 0 and here >= values[index - 1] and here >= values[index + 1]:
            peak = minimize_scalar(
                lambda t: -scalar(t),
                bounds=(grid[index - 1], grid[index + 1]),
                method="bounded",
                options={"xatol": tolerance_s},
            )
            if -peak.fun > 0:
                extra_t.append(float(peak.x))
                extra_v.append(float(-peak.fun))
    if not extra_t:
        return samples
    grid = np.concatenate([grid, extra_t])
    values = np.concatenate([values, extra_v])
    order = np.argsort(grid, kind="stable")
    return _Samples(grid[order], values[order])


def _offsets(start: datetime, seconds: FloatArray) -> NDArray[np.datetime64]:
    origin = np.datetime64(start.replace(tzinfo=None) - (start.utcoffset() or timedelta()), "ns")
    return origin + np.round(np.asarray(seconds) * 1e9).astype("timedelta64[ns]")


def _check_window(start: datetime, stop: datetime) -> None:
    if start.tzinfo is None or stop.tzinfo is None:
        raise ValueError("start and stop must be timezone-aware UTC datetimes")
    if stop <= start:
        raise ValueError("stop must be after start")


def passes(
    satellite: Satellite,
    station: GroundStation,
    start: datetime,
    stop: datetime,
    *,
    min_elevation_deg: float = 0.0,
    step_s: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[Pass]:
    """Passes of one object over ``station`` between ``start`` and ``stop`` (see module notes)."""
    _check_window(start, stop)
    satrec = as_satrec(satellite)
    step = step_s or coarse_step_s(satrec)
    duration = (stop - start).total_seconds()

    def elevation(seconds: FloatArray) -> FloatArray:
        angles = _topocentric(satrec, station, _offsets(start, seconds))
        return np.where(angles.error_codes == 0, angles.elevation_deg, _NOT_VISIBLE_DEG)

    def above_mask(seconds: FloatArray) -> FloatArray:
        return elevation(seconds) - min_elevation_deg

    found = []
    for rise_s, set_s in find_intervals(above_mask, duration, step, tolerance_s=tolerance_s):
        peak_s = _culmination(elevation, rise_s, set_s, step, tolerance_s)
        seconds = np.array([rise_s, peak_s, set_s])
        angles = _topocentric(satrec, station, _offsets(start, seconds))
        found.append(
            Pass(
                rise=start + timedelta(seconds=rise_s),
                culmination=start + timedelta(seconds=peak_s),
                set=start + timedelta(seconds=set_s),
                max_elevation_deg=float(angles.elevation_deg[1]),
                rise_azimuth_deg=float(angles.azimuth_deg[0]),
                culmination_azimuth_deg=float(angles.azimuth_deg[1]),
                set_azimuth_deg=float(angles.azimuth_deg[2]),
                starts_before_window=rise_s == 0.0,
                ends_after_window=set_s == duration,
            )
        )
    return found


def _culmination(
    elevation: ScalarFunction, rise_s: float, set_s: float, step_s: float, tolerance_s: float
) -> float:
    count = max(3, math.ceil((set_s - rise_s) / step_s) + 1)
    grid = np.linspace(rise_s, set_s, count)
    values = elevation(grid)
    best = int(np.argmax(values))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, count - 1)]
    peak = minimize_scalar(
        lambda t: -float(elevation(np.array([t]))[0]),
        bounds=(low, high),
        method="bounded",
        options={"xatol": tolerance_s},
    )
    return float(peak.x) if -peak.fun >= values[best] else float(grid[best])
