"""Rendezvous and proximity operations (RPO): who is near a protected spacecraft, and closing?

For a protected spacecraft (its element-set history) and a set of other objects:

1. **Neighbourhood filter** (:func:`find_neighbours`), on the element sets valid at one time:
   similar plane (angle between the mean orbit normals below ``max_plane_angle_deg``),
   overlapping altitude band (perigee-apogee ranges within ``altitude_band_km`` of each other)
   and, when both are geosynchronous, co-location (mean longitudes within
   ``geo_longitude_window_deg``). Cheap element arithmetic, so a catalog can be screened before
   anything is propagated.
2. **Relative motion** (:func:`relative_motion`): both objects sampled with SGP4
   (:func:`astroshield.astro.dynamics.propagation.propagate`) on a common grid, each time with the
   element set valid then (the newest set with an epoch at or before it, else the earliest),
   the neighbour's position resolved in the protected spacecraft's RTN frame
   (:func:`astroshield.astro.dynamics.frames.rtn_rotation`). RTN is built from TEME states; a
   rotation
   shared by both objects does not change a relative distance, so no frame conversion is needed.
3. **Daily closest approach and trend** (:func:`analyze_neighbour`): the minimum range in each
   successive whole day of the window, and the Theil-Sen slope of those minima (km/day, the
   median of all pairwise slopes: a robust slope that one bad day cannot swing). The trend is
   ``approaching`` when the slope is at or below ``-trend_threshold_km_per_day``, ``departing``
   at or above ``+trend_threshold_km_per_day``, and ``station_keeping_nearby`` in between;
   ``insufficient_data`` with fewer than ``min_days_for_trend`` days. ``closing_rate_km_per_day``
   is minus the slope, so it is positive while the two close on each other.
4. **Maneuvered toward**: for each maneuver of the neighbour
   (:func:`astroshield.astro.ccdm.maneuvers.detect_maneuvers`, or detections passed in), the closest
   approach to the protected spacecraft over ``prediction_horizon_days`` from the first
   post-maneuver epoch is predicted twice, once from the last pre-maneuver element set and once
   from the first post-maneuver one. The maneuver is *toward* when the post-maneuver
   prediction is smaller by at least ``toward_fraction`` of the pre-maneuver one, *away* when it
   is larger by that fraction. The protected spacecraft uses its own element set valid at each
   time in both predictions, so only the neighbour's change is measured.

Pure numpy/sgp4; no web or database imports.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import stats

from astroshield.astro.ccdm.maneuvers import ManeuverDetection, detect_maneuvers, element_history
from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.astro.dynamics.orbit import (
    EARTH_EQUATORIAL_RADIUS_KM,
    semi_major_axis_from_mean_motion,
)
from astroshield.astro.dynamics.propagation import propagate

__all__ = [
    "ApproachTrend",
    "DailyApproach",
    "ManeuverEffect",
    "Neighbour",
    "ProximityConfig",
    "ProximityReport",
    "RelativeMotion",
    "analyze_neighbour",
    "analyze_proximity",
    "element_set_at",
    "find_neighbours",
    "is_geosynchronous",
    "mean_longitude_deg",
    "mean_longitude_rate_deg_per_day",
    "orbit_normal",
    "plane_angle_deg",
    "relative_motion",
    "sample_times",
]

FloatArray = npt.NDArray[np.float64]

# Mean motion band of geosynchronous orbits (rev/day): GEO, inclined and extended GEO.
_GEO_MEAN_MOTION_RANGE = (0.9, 1.1)
_MINUTES_PER_DAY = 1440.0
_EARTH_ROTATION_DEG_PER_DAY = 360.0 * 1.00273781191135448


class ApproachTrend(StrEnum):
    APPROACHING = "approaching"
    STATION_KEEPING_NEARBY = "station_keeping_nearby"
    DEPARTING = "departing"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class ProximityConfig:
    """Thresholds of the RPO analysis; defaults are documented with their reason.

    * ``max_plane_angle_deg`` 5°: a co-orbital approach needs nearly the same plane; a 5° plane
      difference already costs ~270 m/s at GEO (~650 m/s in LEO) to remove.
    * ``altitude_band_km`` 100 km: perigee-apogee ranges closer than this can meet; wider than
      the ±75 km radial excursion of a 0.001-eccentricity GEO orbit.
    * ``geo_longitude_window_deg`` 2°: two GEO objects closer than ~1,470 km in longitude are
      co-located for RPO purposes (a 0.1°/day phasing drift crosses it in ~3 weeks).
    * ``trend_threshold_km_per_day`` 5 km/day: the slope of daily minimum range below which the
      pair is "station keeping nearby"; a GEO station-keeping box of ±0.05° lets the daily
      minimum wander by a few km/day, a 0.01°/day phasing drift alone is 7.4 km/day.
    * ``min_days_for_trend`` 3: a slope from two days has no robustness.
    * ``step_s`` sampling of the relative motion; ``None`` picks 60 s below GEO and 300 s for
      GEO (a 60-s step keeps the error of a sampled minimum below ~1% for co-orbital LEO
      motion at relative speeds up to tens of m/s).
    * ``prediction_horizon_days`` 3 and ``toward_fraction`` 0.1: a maneuver is toward/away
      when it changes the predicted 3-day closest approach by at least 10%.
    """

    max_plane_angle_deg: float = 5.0
    altitude_band_km: float = 100.0
    geo_longitude_window_deg: float = 2.0
    trend_threshold_km_per_day: float = 5.0
    min_days_for_trend: int = 3
    step_s: float | None = None
    prediction_horizon_days: float = 3.0
    toward_fraction: float = 0.1

    def __post_init__(self) -> None:
        positive = {
            "max_plane_angle_deg": self.max_plane_angle_deg,
            "altitude_band_km": self.altitude_band_km,
            "geo_longitude_window_deg": self.geo_longitude_window_deg,
            "trend_threshold_km_per_day": self.trend_threshold_km_per_day,
            "prediction_horizon_days": self.prediction_horizon_days,
            "toward_fraction": self.toward_fraction,
        }
        for name, value in positive.items():
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.step_s is not None and not self.step_s > 0:
            raise ValueError(f"step_s must be positive, got {self.step_s!r}")
        if self.min_days_for_trend < 2:
            raise ValueError("min_days_for_trend must be at least 2")


# ------------------------------------------------------------------------------- geometry


def _raan_deg_at(elements: ElementSet, at: datetime | None) -> float:
    if at is None or at == elements.epoch:
        return elements.ra_of_asc_node_deg
    # SGP4's secular node rate (J2, plus luni-solar terms for deep space): in LEO the node
    # moves by degrees per day, so planes must be compared at one time.
    minutes = (at - elements.epoch).total_seconds() / 60.0
    return elements.ra_of_asc_node_deg + math.degrees(to_satrec(elements).nodedot * minutes)


def orbit_normal(elements: ElementSet, at: datetime | None = None) -> FloatArray:
    """Unit normal of the mean orbit plane (TEME) at ``at`` (default: the epoch)."""
    inc = math.radians(elements.inclination_deg)
    raan = math.radians(_raan_deg_at(elements, at))
    return np.array(
        [math.sin(inc) * math.sin(raan), -math.sin(inc) * math.cos(raan), math.cos(inc)]
    )


def plane_angle_deg(first: ElementSet, second: ElementSet) -> float:
    """Angle between the two mean orbit normals at the first set's epoch, degrees."""
    cosine = float(np.dot(orbit_normal(first), orbit_normal(second, first.epoch)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def _altitude_range_km(elements: ElementSet) -> tuple[float, float]:
    a = semi_major_axis_from_mean_motion(elements.mean_motion_rev_per_day)
    return (
        a * (1 - elements.eccentricity) - EARTH_EQUATORIAL_RADIUS_KM,
        a * (1 + elements.eccentricity) - EARTH_EQUATORIAL_RADIUS_KM,
    )


def is_geosynchronous(elements: ElementSet) -> bool:
    low, high = _GEO_MEAN_MOTION_RANGE
    return low <= elements.mean_motion_rev_per_day <= high and elements.eccentricity < 0.1


def mean_longitude_rate_deg_per_day(elements: ElementSet) -> float:
    """Drift of the mean longitude east of Greenwich under SGP4's secular rates:
    Ṁ + ω̇ + Ω̇ - ω⊕ (the J2 terms matter: ~0.03°/day at GEO)."""
    satrec = to_satrec(elements)
    rate_rad_per_min = satrec.mdot + satrec.argpdot + satrec.nodedot
    return math.degrees(rate_rad_per_min) * _MINUTES_PER_DAY - _EARTH_ROTATION_DEG_PER_DAY


def mean_longitude_deg(elements: ElementSet, at: datetime | None = None) -> float:
    """Mean longitude east of Greenwich at ``at`` (default: the epoch), degrees in
    [-180, 180) (GEO meaning), moved from the epoch at :func:`mean_longitude_rate_deg_per_day`."""
    longitude = float(element_history([elements]).geo_longitude_deg[0])
    if at is not None:
        days = (at - elements.epoch).total_seconds() / 86_400.0
        longitude += mean_longitude_rate_deg_per_day(elements) * days
    return _wrap_deg(longitude)


def _wrap_deg(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def element_set_at(history: Sequence[ElementSet], at: datetime) -> ElementSet:
    """The set valid at ``at``: newest with epoch <= at, else the earliest (history sorted)."""
    if not history:
        raise ValueError("empty element-set history")
    chosen = history[0]
    for item in history:
        if item.epoch <= at:
            chosen = item
        else:
            break
    return chosen


def _sorted_history(history: Sequence[ElementSet]) -> list[ElementSet]:
    # The same order and de-duplication as detect_maneuvers, whose indices refer to it.
    by_epoch: dict[datetime, ElementSet] = {}
    for item in history:
        by_epoch.setdefault(item.epoch, item)
    return [by_epoch[key] for key in sorted(by_epoch)]


# ------------------------------------------------------------------------- neighbourhood


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An object that passed the neighbourhood filter, with the measured quantities."""

    catalog_number: str
    plane_angle_deg: float
    altitude_gap_km: float  # 0 when the perigee-apogee ranges overlap
    longitude_separation_deg: float | None  # both geosynchronous only
    element_set_epoch: datetime


def _altitude_gap_km(first: ElementSet, second: ElementSet) -> float:
    low_a, high_a = _altitude_range_km(first)
    low_b, high_b = _altitude_range_km(second)
    return max(0.0, low_b - high_a, low_a - high_b)


def find_neighbours(
    protected: ElementSet,
    candidates: Sequence[ElementSet],
    config: ProximityConfig | None = None,
) -> list[Neighbour]:
    """Candidates sharing the protected spacecraft's plane, altitude band (and GEO slot).

    Candidates' node and GEO longitude are moved to the protected set's epoch at their secular
    rates, so sets of different epochs compare; pass each candidate's set nearest that epoch.
    The protected object itself (same catalog number) is skipped.
    """
    cfg = config or ProximityConfig()
    protected_geo = is_geosynchronous(protected)
    protected_longitude = mean_longitude_deg(protected) if protected_geo else None
    found = []
    for candidate in candidates:
        if candidate.catalog_number == protected.catalog_number:
            continue
        angle = plane_angle_deg(protected, candidate)
        gap = _altitude_gap_km(protected, candidate)
        if angle > cfg.max_plane_angle_deg or gap > cfg.altitude_band_km:
            continue
        separation = None
        if protected_longitude is not None and is_geosynchronous(candidate):
            separation = abs(
                _wrap_deg(mean_longitude_deg(candidate, protected.epoch) - protected_longitude)
            )
            if separation > cfg.geo_longitude_window_deg:
                continue
        found.append(Neighbour(candidate.catalog_number, angle, gap, separation, candidate.epoch))
    return found


# ------------------------------------------------------------------------ relative motion


def sample_times(start: datetime, stop: datetime, step_s: float) -> list[datetime]:
    """``start``, ``start + step``, ... up to and including ``stop`` (if on the grid)."""
    if stop <= start:
        raise ValueError("stop must be after start")
    count = int((stop - start).total_seconds() // step_s) + 1
    return [start + timedelta(seconds=index * step_s) for index in range(count)]


def _states(
    history: Sequence[ElementSet], times: Sequence[datetime]
) -> tuple[FloatArray, FloatArray]:
    """TEME r, v at each time from the element set valid then; NaN where SGP4 failed."""
    r = np.full((len(times), 3), np.nan)
    v = np.full((len(times), 3), np.nan)
    epochs = [item.epoch for item in history]
    # Index of the valid set per time: newest epoch <= t, else the first set.
    indices = np.array([max(bisect_right(epochs, moment) - 1, 0) for moment in times], dtype=int)
    for set_index in np.unique(indices):
        rows = np.flatnonzero(indices == set_index)
        result = propagate([history[int(set_index)]], [times[int(row)] for row in rows])
        ok = result.error_codes[0] == 0
        r[rows[ok]] = result.r_km[0][ok]
        v[rows[ok]] = result.v_km_s[0][ok]
    return r, v


@dataclass(frozen=True, slots=True)
class RelativeMotion:
    """Neighbour relative to the protected spacecraft, in the protected RTN frame (km).

    ``rtn_km[:, 0]`` radial, ``[:, 1]`` along-track (transverse), ``[:, 2]`` cross-track.
    Rows where either object failed to propagate are NaN.
    """

    times: tuple[datetime, ...]
    rtn_km: FloatArray
    range_km: FloatArray


def relative_motion(
    protected: Sequence[ElementSet],
    neighbour: Sequence[ElementSet],
    times: Sequence[datetime],
) -> RelativeMotion:
    """Relative position of ``neighbour`` in the protected RTN frame at each of ``times``."""
    protected_sorted = _sorted_history(protected)
    neighbour_sorted = _sorted_history(neighbour)
    r_p, v_p = _states(protected_sorted, times)
    r_n, _ = _states(neighbour_sorted, times)
    valid = np.isfinite(r_p).all(axis=1) & np.isfinite(r_n).all(axis=1)
    rtn = np.full((len(times), 3), np.nan)
    if valid.any():
        rotation = rtn_rotation(r_p[valid], v_p[valid])
        rtn[valid] = np.einsum("nij,nj->ni", rotation, r_n[valid] - r_p[valid])
    return RelativeMotion(tuple(times), rtn, np.linalg.norm(rtn, axis=1))


# ----------------------------------------------------------------------------- analysis


@dataclass(frozen=True, slots=True)
class DailyApproach:
    """Smallest sampled range within one day of the window (``day_start`` + 24 h)."""

    day_start: datetime
    time: datetime
    range_km: float


@dataclass(frozen=True, slots=True)
class ManeuverEffect:
    """How one maneuver of the neighbour changed its predicted closest approach."""

    maneuver_epoch: datetime
    delta_v_m_s: float
    pre_maneuver_epoch: datetime
    post_maneuver_epoch: datetime
    predicted_min_range_before_km: float
    predicted_min_range_after_km: float
    toward: bool
    away: bool


@dataclass(frozen=True, slots=True)
class ProximityReport:
    """RPO summary of one neighbour over the analysis window."""

    catalog_number: str
    window_start: datetime
    window_stop: datetime
    trend: ApproachTrend
    slope_km_per_day: float | None
    closing_rate_km_per_day: float | None
    closest_approach_km: float | None
    closest_approach_time: datetime | None
    daily: tuple[DailyApproach, ...]
    maneuvers: tuple[ManeuverEffect, ...]
    protected_epochs: tuple[datetime, ...]
    neighbour_epochs: tuple[datetime, ...]

    @property
    def maneuvered_toward(self) -> bool:
        return any(effect.toward for effect in self.maneuvers)

    @property
    def maneuvered_away(self) -> bool:
        return any(effect.away for effect in self.maneuvers)


def _default_step_s(protected: ElementSet, config: ProximityConfig) -> float:
    if config.step_s is not None:
        return config.step_s
    return 300.0 if is_geosynchronous(protected) else 60.0


def daily_minima(motion: RelativeMotion, start: datetime, stop: datetime) -> list[DailyApproach]:
    """Minimum range in each whole day from ``start`` (a last partial day is dropped)."""
    days = int((stop - start).total_seconds() // 86_400)
    offsets = np.array([(t - start).total_seconds() for t in motion.times])
    minima = []
    for day in range(days):
        rows = np.flatnonzero(
            (offsets >= day * 86_400.0)
            & (offsets < (day + 1) * 86_400.0)
            & np.isfinite(motion.range_km)
        )
        if rows.size == 0:
            continue
        best = int(rows[np.argmin(motion.range_km[rows])])
        minima.append(
            DailyApproach(
                start + timedelta(days=day), motion.times[best], float(motion.range_km[best])
            )
        )
    return minima


def robust_slope_km_per_day(daily: Sequence[DailyApproach]) -> float:
    """Theil-Sen slope of the daily minimum range against day number."""
    days = np.array([(d.day_start - daily[0].day_start).total_seconds() / 86_400 for d in daily])
    ranges = np.array([d.range_km for d in daily])
    return float(stats.theilslopes(ranges, days).slope)


def classify_trend(slope_km_per_day: float, config: ProximityConfig) -> ApproachTrend:
    if slope_km_per_day <= -config.trend_threshold_km_per_day:
        return ApproachTrend.APPROACHING
    if slope_km_per_day >= config.trend_threshold_km_per_day:
        return ApproachTrend.DEPARTING
    return ApproachTrend.STATION_KEEPING_NEARBY


def predicted_min_range_km(
    protected: Sequence[ElementSet],
    neighbour_set: ElementSet,
    start: datetime,
    horizon_days: float,
    step_s: float,
) -> float:
    """Closest sampled approach over the horizon predicted from one neighbour element set."""
    times = sample_times(start, start + timedelta(days=horizon_days), step_s)
    motion = relative_motion(protected, [neighbour_set], times)
    finite = motion.range_km[np.isfinite(motion.range_km)]
    return float(finite.min()) if finite.size else math.inf


def maneuver_effects(
    protected: Sequence[ElementSet],
    neighbour: Sequence[ElementSet],
    detections: Sequence[ManeuverDetection],
    config: ProximityConfig | None = None,
) -> list[ManeuverEffect]:
    """Toward/away verdict for each detection (indices refer to the sorted, de-duplicated
    neighbour history, as returned by :func:`detect_maneuvers`)."""
    cfg = config or ProximityConfig()
    ordered = _sorted_history(neighbour)
    protected_sorted = _sorted_history(protected)
    step = _default_step_s(protected_sorted[-1], cfg)
    effects = []
    for detection in detections:
        if not 0 <= detection.before_index < detection.after_index < len(ordered):
            continue
        before, after = ordered[detection.before_index], ordered[detection.after_index]
        pre = predicted_min_range_km(
            protected_sorted, before, after.epoch, cfg.prediction_horizon_days, step
        )
        post = predicted_min_range_km(
            protected_sorted, after, after.epoch, cfg.prediction_horizon_days, step
        )
        effects.append(
            ManeuverEffect(
                maneuver_epoch=detection.epoch,
                delta_v_m_s=detection.delta_v_m_s,
                pre_maneuver_epoch=before.epoch,
                post_maneuver_epoch=after.epoch,
                predicted_min_range_before_km=pre,
                predicted_min_range_after_km=post,
                toward=post <= pre * (1 - cfg.toward_fraction),
                away=post >= pre * (1 + cfg.toward_fraction),
            )
        )
    return effects


def analyze_neighbour(
    protected: Sequence[ElementSet],
    neighbour: Sequence[ElementSet],
    start: datetime,
    stop: datetime,
    *,
    config: ProximityConfig | None = None,
    detections: Sequence[ManeuverDetection] | None = None,
) -> ProximityReport:
    """Daily closest approach, trend, closing rate and maneuver effects over [start, stop].

    ``detections`` default to :func:`detect_maneuvers` on the neighbour's whole history; only
    maneuvers whose post-maneuver set lies in the window are judged.
    """
    cfg = config or ProximityConfig()
    protected_sorted = _sorted_history(protected)
    neighbour_sorted = _sorted_history(neighbour)
    if not protected_sorted or not neighbour_sorted:
        raise ValueError("both histories need at least one element set")
    step = _default_step_s(protected_sorted[-1], cfg)
    motion = relative_motion(protected_sorted, neighbour_sorted, sample_times(start, stop, step))
    daily = daily_minima(motion, start, stop)
    finite = np.flatnonzero(np.isfinite(motion.range_km))
    closest_km = closest_time = None
    if finite.size:
        best = int(finite[np.argmin(motion.range_km[finite])])
        closest_km, closest_time = float(motion.range_km[best]), motion.times[best]
    slope = closing = None
    trend = ApproachTrend.INSUFFICIENT_DATA
    if len(daily) >= cfg.min_days_for_trend:
        slope = robust_slope_km_per_day(daily)
        closing = -slope
        trend = classify_trend(slope, cfg)
    found = detect_maneuvers(neighbour_sorted) if detections is None else detections
    in_window = [
        d
        for d in found
        if d.after_index < len(neighbour_sorted)
        and start <= neighbour_sorted[d.after_index].epoch <= stop
    ]
    effects = maneuver_effects(protected_sorted, neighbour_sorted, in_window, cfg)

    def used(history: Sequence[ElementSet]) -> tuple[datetime, ...]:
        first = element_set_at(history, start).epoch
        return tuple(item.epoch for item in history if first <= item.epoch <= stop)

    return ProximityReport(
        catalog_number=neighbour_sorted[0].catalog_number,
        window_start=start,
        window_stop=stop,
        trend=trend,
        slope_km_per_day=slope,
        closing_rate_km_per_day=closing,
        closest_approach_km=closest_km,
        closest_approach_time=closest_time,
        daily=tuple(daily),
        maneuvers=tuple(effects),
        protected_epochs=used(protected_sorted),
        neighbour_epochs=used(neighbour_sorted),
    )


def analyze_proximity(
    protected: Sequence[ElementSet],
    others: Sequence[Sequence[ElementSet]],
    start: datetime,
    stop: datetime,
    *,
    config: ProximityConfig | None = None,
) -> list[ProximityReport]:
    """Filter ``others`` (one history per object) to the neighbourhood at ``stop``, then
    analyse each neighbour; reports sorted by closest approach."""
    cfg = config or ProximityConfig()
    protected_sorted = _sorted_history(protected)
    reference = element_set_at(protected_sorted, stop)
    latest = {}
    for history in others:
        ordered = _sorted_history(history)
        if ordered:
            latest[ordered[0].catalog_number] = (ordered, element_set_at(ordered, stop))
    neighbours = find_neighbours(reference, [item for _, item in latest.values()], cfg)
    reports = [
        analyze_neighbour(protected_sorted, latest[n.catalog_number][0], start, stop, config=cfg)
        for n in neighbours
    ]
    return sorted(
        reports, key=lambda r: math.inf if r.closest_approach_km is None else r.closest_approach_km
    )
