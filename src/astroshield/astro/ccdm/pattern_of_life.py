"""Pattern of life: an object's normal behaviour learned from its own element-set history,
and the events that fall outside it.

Baseline (:func:`learn_pattern_of_life`), from the SGP4 mean elements of every set
(:func:`astroshield.astro.ccdm.maneuvers.element_history`) and the detected maneuvers
(:func:`astroshield.astro.ccdm.maneuvers.detect_maneuvers`):

* maneuver cadence: median interval between maneuvers and its robust spread, median Δv and
  its spread;
* geosynchronous objects: the station-keeping longitude box (the ``box_quantiles`` of the mean
  longitude east of Greenwich, default 5 %-95 %) and the mean-longitude drift rate
  (Ṁ + ω̇ + Ω̇ - ω⊕ from SGP4's secular rates, :func:`.rpo.mean_longitude_rate_deg_per_day`);
* every object: semi-major axis, inclination and eccentricity ranges (same quantiles).

Out-of-family events, each with a robust z-like score ``(value - median) / scale`` where
``scale = max(1.4826·MAD, floor)`` (the MAD-to-sigma factor of a normal distribution; the
floor keeps a perfectly regular history from dividing by zero) and an explanation:

* ``drift_start`` / ``drift_stop`` (GEO): the drift rate leaves its family for at least
  ``persistence_sets`` successive sets, and the first set back in family;
* ``inclination_change``: a step in inclination between successive sets (the step's median,
  i.e. the natural luni-solar drift, is removed first);
* ``maneuver_interval`` / ``maneuver_size``: a maneuver after an unusual interval since the
  previous one, or of unusual Δv.

An event is out of family when ``|score| >= z_threshold``. Pure numpy; no web or DB imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from astroshield.astro.ccdm.maneuvers import ManeuverDetection, detect_maneuvers, element_history
from astroshield.astro.ccdm.rpo import mean_longitude_rate_deg_per_day
from astroshield.astro.dynamics.elements import ElementSet

__all__ = [
    "EventKind",
    "ManeuverCadence",
    "OutOfFamilyEvent",
    "PatternConfig",
    "PatternOfLife",
    "ValueRange",
    "learn_pattern_of_life",
    "max_event_score",
    "robust_center_scale",
]

FloatArray = npt.NDArray[np.float64]
_MAD_TO_SIGMA = 1.4826


class EventKind(StrEnum):
    DRIFT_START = "drift_start"
    DRIFT_STOP = "drift_stop"
    INCLINATION_CHANGE = "inclination_change"
    MANEUVER_INTERVAL = "maneuver_interval"
    MANEUVER_SIZE = "maneuver_size"


@dataclass(frozen=True, slots=True)
class PatternConfig:
    """Thresholds of the pattern of life; defaults and their reason.

    * ``z_threshold`` 5 robust sigmas: a normal variable passes it once in ~1.7 million draws,
      so a multi-year daily history gives essentially no false events from noise alone.
    * ``box_quantiles`` (0.05, 0.95): the box holds 90 % of the history, so rare excursions
      (relocations, bad sets) do not widen it.
    * ``persistence_sets`` 2: a drift must last two sets, one bad set is not a drift.
    * ``inclination_rate_window`` 61 sets (~2 months of daily sets): the window of the local
      median inclination rate, short against the years over which the natural drift turns.
    * Floors of the robust scale: ``drift_floor_deg_per_day`` 0.005 (a GEO drift below
      0.005°/day moves the object < 2°/year), ``inclination_step_floor_deg`` 0.005 (GEO
      element sets scatter by a few 0.001° in inclination; a north-south maneuver moves it
      by tenths of a degree), ``interval_floor_fraction`` 0.1 of the median interval
      and ``delta_v_floor_fraction`` 0.25 of the median Δv (a maneuver schedule or size that
      varies by less is regular by any operational measure).
    * ``min_maneuvers_for_cadence`` 3: two intervals are needed for a spread.
    """

    z_threshold: float = 5.0
    box_quantiles: tuple[float, float] = (0.05, 0.95)
    persistence_sets: int = 2
    drift_floor_deg_per_day: float = 0.005
    inclination_step_floor_deg: float = 0.005
    inclination_rate_window: int = 61
    interval_floor_fraction: float = 0.1
    delta_v_floor_fraction: float = 0.25
    min_maneuvers_for_cadence: int = 3

    def __post_init__(self) -> None:
        low, high = self.box_quantiles
        if not 0.0 <= low < high <= 1.0:
            raise ValueError("box_quantiles must satisfy 0 <= low < high <= 1")
        if not self.z_threshold > 0:
            raise ValueError("z_threshold must be positive")
        if self.persistence_sets < 1:
            raise ValueError("persistence_sets must be at least 1")


@dataclass(frozen=True, slots=True)
class ValueRange:
    """Quantile range of one quantity, with its median and robust scale."""

    low: float
    high: float
    median: float
    scale: float
    unit: str


@dataclass(frozen=True, slots=True)
class ManeuverCadence:
    count: int
    median_interval_days: float | None
    interval_spread_days: float | None
    median_delta_v_m_s: float | None
    delta_v_spread_m_s: float | None


@dataclass(frozen=True, slots=True)
class OutOfFamilyEvent:
    kind: EventKind
    epoch: datetime
    value: float
    expected: float
    unit: str
    score: float
    explanation: str


@dataclass(frozen=True, slots=True)
class PatternOfLife:
    catalog_number: str
    is_geo: bool
    first_epoch: datetime
    last_epoch: datetime
    element_set_count: int
    cadence: ManeuverCadence
    longitude_box_deg: ValueRange | None
    drift_rate_deg_per_day: ValueRange | None
    semi_major_axis_km: ValueRange
    inclination_deg: ValueRange
    eccentricity: ValueRange
    events: tuple[OutOfFamilyEvent, ...]
    maneuvers: tuple[ManeuverDetection, ...]


def robust_center_scale(values: FloatArray, floor: float) -> tuple[float, float]:
    """Median and max(1.4826·MAD, floor)."""
    center = float(np.median(values))
    mad = float(np.median(np.abs(values - center)))
    return center, max(_MAD_TO_SIGMA * mad, floor)


def _value_range(
    values: FloatArray, quantiles: tuple[float, float], floor: float, unit: str
) -> ValueRange:
    center, scale = robust_center_scale(values, floor)
    low, high = np.quantile(values, quantiles)
    return ValueRange(float(low), float(high), center, scale, unit)


def _longitude_range(longitudes: FloatArray, config: PatternConfig) -> ValueRange:
    # Unwrap around the median so a box straddling ±180° stays one interval.
    reference = float(np.degrees(np.angle(np.mean(np.exp(1j * np.radians(longitudes))))))
    relative = (longitudes - reference + 180.0) % 360.0 - 180.0
    box = _value_range(relative, config.box_quantiles, 1e-6, "deg")

    def wrap(value: float) -> float:
        return (value + reference + 180.0) % 360.0 - 180.0

    return ValueRange(wrap(box.low), wrap(box.high), wrap(box.median), box.scale, "deg")


def _days_between(first: datetime, second: datetime) -> float:
    return (second - first).total_seconds() / 86_400.0


def _cadence(detections: Sequence[ManeuverDetection], config: PatternConfig) -> ManeuverCadence:
    if len(detections) < config.min_maneuvers_for_cadence:
        return ManeuverCadence(len(detections), None, None, None, None)
    intervals = np.array([_days_between(a.epoch, b.epoch) for a, b in pairwise(detections)])
    sizes = np.array([d.delta_v_m_s for d in detections])
    median_interval = float(np.median(intervals))
    median_size = float(np.median(sizes))
    _, interval_scale = robust_center_scale(
        intervals, config.interval_floor_fraction * median_interval
    )
    _, size_scale = robust_center_scale(sizes, config.delta_v_floor_fraction * median_size)
    return ManeuverCadence(
        len(detections), median_interval, interval_scale, median_size, size_scale
    )


def _drift_events(
    epochs: Sequence[datetime], drift: FloatArray, baseline: ValueRange, config: PatternConfig
) -> list[OutOfFamilyEvent]:
    scores = (drift - baseline.median) / baseline.scale
    outside = np.abs(scores) >= config.z_threshold
    events = []
    index = 0
    while index < len(drift):
        if not outside[index]:
            index += 1
            continue
        end = index
        while end < len(drift) and outside[end]:
            end += 1
        if end - index >= config.persistence_sets:
            events.append(
                OutOfFamilyEvent(
                    EventKind.DRIFT_START,
                    epochs[index],
                    float(drift[index]),
                    baseline.median,
                    "deg/day",
                    float(scores[index]),
                    f"drift rate {drift[index]:+.4f} deg/day for {end - index} sets, usual "
                    f"{baseline.median:+.4f} ± {baseline.scale:.4f} deg/day",
                )
            )
            if end < len(drift):
                events.append(
                    OutOfFamilyEvent(
                        EventKind.DRIFT_STOP,
                        epochs[end],
                        float(drift[end]),
                        baseline.median,
                        "deg/day",
                        float(scores[index]),
                        f"drift rate back to {drift[end]:+.4f} deg/day after "
                        f"{_days_between(epochs[index], epochs[end]):.1f} days of drift",
                    )
                )
        index = end
    return events


def _inclination_events(
    epochs: Sequence[datetime], inclination: FloatArray, config: PatternConfig
) -> list[OutOfFamilyEvent]:
    if len(inclination) < 3:
        return []
    steps = np.diff(inclination)
    gaps = np.array([_days_between(a, b) for a, b in pairwise(epochs)])
    # The natural (luni-solar) inclination drift changes sign over the years, so the usual
    # step is the local median rate times the gap, not one global median.
    rates = steps / np.maximum(gaps, 1e-6)
    half = config.inclination_rate_window // 2
    local_rate = np.array(
        [np.median(rates[max(0, k - half) : k + half + 1]) for k in range(len(rates))]
    )
    expected = local_rate * gaps
    residuals = steps - expected
    _, scale = robust_center_scale(residuals, config.inclination_step_floor_deg)
    events = []
    for index, step in enumerate(steps):
        score = float(residuals[index] / scale)
        if abs(score) >= config.z_threshold:
            events.append(
                OutOfFamilyEvent(
                    EventKind.INCLINATION_CHANGE,
                    epochs[index + 1],
                    float(step),
                    float(expected[index]),
                    "deg",
                    score,
                    f"inclination stepped {step:+.4f} deg between sets "
                    f"{epochs[index].isoformat()} and {epochs[index + 1].isoformat()}; "
                    f"natural drift over that gap {expected[index]:+.4f} deg, "
                    f"scatter {scale:.4f} deg",
                )
            )
    return events


def _maneuver_events(
    detections: Sequence[ManeuverDetection], cadence: ManeuverCadence, config: PatternConfig
) -> list[OutOfFamilyEvent]:
    if (
        cadence.median_interval_days is None
        or cadence.interval_spread_days is None
        or cadence.median_delta_v_m_s is None
        or cadence.delta_v_spread_m_s is None
    ):
        return []
    events = []
    for previous, detection in pairwise(detections):
        interval = _days_between(previous.epoch, detection.epoch)
        score = (interval - cadence.median_interval_days) / cadence.interval_spread_days
        if abs(score) >= config.z_threshold:
            events.append(
                OutOfFamilyEvent(
                    EventKind.MANEUVER_INTERVAL,
                    detection.epoch,
                    interval,
                    cadence.median_interval_days,
                    "day",
                    score,
                    f"maneuver {interval:.1f} days after the previous one, usual interval "
                    f"{cadence.median_interval_days:.1f} ± {cadence.interval_spread_days:.1f} days",
                )
            )
    for detection in detections:
        score = (detection.delta_v_m_s - cadence.median_delta_v_m_s) / cadence.delta_v_spread_m_s
        if abs(score) >= config.z_threshold:
            events.append(
                OutOfFamilyEvent(
                    EventKind.MANEUVER_SIZE,
                    detection.epoch,
                    detection.delta_v_m_s,
                    cadence.median_delta_v_m_s,
                    "m/s",
                    score,
                    f"maneuver of {detection.delta_v_m_s:.3f} m/s, usual "
                    f"{cadence.median_delta_v_m_s:.3f} ± {cadence.delta_v_spread_m_s:.3f} m/s",
                )
            )
    return events


def learn_pattern_of_life(
    history: Sequence[ElementSet],
    *,
    detections: Sequence[ManeuverDetection] | None = None,
    config: PatternConfig | None = None,
) -> PatternOfLife:
    """Baseline and out-of-family events of one object's history (any order)."""
    cfg = config or PatternConfig()
    if not history:
        raise ValueError("empty element-set history")
    series = element_history(history)
    found = sorted(
        detect_maneuvers(history) if detections is None else detections, key=lambda d: d.epoch
    )
    cadence = _cadence(found, cfg)
    epochs = series.epochs
    longitude_box = drift = None
    events: list[OutOfFamilyEvent] = []
    if series.is_geo:
        longitude_box = _longitude_range(series.geo_longitude_deg, cfg)
        by_epoch: dict[datetime, ElementSet] = {}
        for item in history:
            by_epoch.setdefault(item.epoch, item)
        rates = np.array([mean_longitude_rate_deg_per_day(by_epoch[epoch]) for epoch in epochs])
        drift = _value_range(rates, cfg.box_quantiles, cfg.drift_floor_deg_per_day, "deg/day")
        events += _drift_events(epochs, rates, drift, cfg)
    events += _inclination_events(epochs, series.inclination_deg, cfg)
    events += _maneuver_events(found, cadence, cfg)
    return PatternOfLife(
        catalog_number=history[0].catalog_number,
        is_geo=series.is_geo,
        first_epoch=epochs[0],
        last_epoch=epochs[-1],
        element_set_count=len(epochs),
        cadence=cadence,
        longitude_box_deg=longitude_box,
        drift_rate_deg_per_day=drift,
        semi_major_axis_km=_value_range(series.a_km, cfg.box_quantiles, 1e-6, "km"),
        inclination_deg=_value_range(series.inclination_deg, cfg.box_quantiles, 1e-6, "deg"),
        eccentricity=_value_range(series.eccentricity, cfg.box_quantiles, 1e-9, ""),
        events=tuple(sorted(events, key=lambda e: e.epoch)),
        maneuvers=tuple(found),
    )


def max_event_score(
    events: Sequence[OutOfFamilyEvent], since: datetime | None = None
) -> OutOfFamilyEvent | None:
    """The event with the largest |score| at or after ``since`` (all events when None)."""
    chosen = [event for event in events if since is None or event.epoch >= since]
    if not chosen:
        return None
    return max(chosen, key=lambda event: (abs(event.score), event.epoch))
