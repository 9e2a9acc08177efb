"""Explainable intent assessment of one object relative to a protected spacecraft.

Every indicator is *measured* from orbital data and reported with its value, threshold, unit,
weight, whether it contributes, and the data it came from:

===================== ================================================ =====================
indicator             value                                            contributes when
===================== ================================================ =====================
pattern_of_life       largest |robust z| of the object's out-of-family  value >= threshold
                      events within the assessment window
approach_trend        closing rate of the daily closest approach,       value >= threshold
                      km/day (Theil-Sen slope, :mod:`.rpo`)
closest_approach      smallest sampled range in the window, km          value <= threshold
maneuvered_toward     maneuvers that reduced the predicted closest     value >= threshold
                      approach (:mod:`.rpo`)
conjunction_risk      Pc when given, else miss distance (km); the       tier is not green
                      tier from :func:`astroshield.astro.conjunction.risk.assess`
===================== ================================================ =====================

``score`` is the sum of the weights of contributing indicators over the sum of the weights of
the indicators that could be measured (an indicator without data has ``value=None``, never
contributes and does not count), so it lies in [0, 1].

Category (first rule that holds):

1. ``potential_threat``: maneuvered toward, in proximity (approach trend or closest approach
   contributes) and ``score >= threat_score``;
2. ``rendezvous_inspection``: in proximity and approaching or maneuvered toward;
3. ``collision_avoidance``: conjunction risk contributes and a maneuver *increased* the
   predicted closest approach (moved away);
4. ``nominal_station_keeping``: measured data and no indicator contributes;
5. ``unknown``: anything else (no data, or an anomaly without proximity).

Pure code; no web or database imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from astroshield.astro.ccdm.pattern_of_life import PatternOfLife, max_event_score
from astroshield.astro.ccdm.rpo import ApproachTrend, ProximityReport
from astroshield.astro.conjunction.risk import RiskThresholds, Tier, assess

__all__ = [
    "ConjunctionInput",
    "Indicator",
    "IndicatorName",
    "IntentAssessment",
    "IntentCategory",
    "IntentConfig",
    "assess_intent",
]


class IntentCategory(StrEnum):
    NOMINAL_STATION_KEEPING = "nominal_station_keeping"
    COLLISION_AVOIDANCE = "collision_avoidance"
    RENDEZVOUS_INSPECTION = "rendezvous_inspection"
    POTENTIAL_THREAT = "potential_threat"
    UNKNOWN = "unknown"


class IndicatorName(StrEnum):
    PATTERN_OF_LIFE = "pattern_of_life"
    APPROACH_TREND = "approach_trend"
    CLOSEST_APPROACH = "closest_approach"
    MANEUVERED_TOWARD = "maneuvered_toward"
    CONJUNCTION_RISK = "conjunction_risk"


@dataclass(frozen=True, slots=True)
class IntentConfig:
    """Weights and thresholds of the assessment (weights need not sum to 1).

    * ``pattern_of_life_z`` 5 robust sigmas, as the pattern of life's own out-of-family limit.
    * ``closing_rate_km_per_day`` 5 km/day, the RPO trend threshold (a steady approach).
    * ``proximity_km`` 50 km: GEO operators treat another object inside ~50 km as a close
      approach (twice the ±0.05° box half-width of 37 km); in LEO it is generous.
    * ``maneuvers_toward`` 1: one maneuver that reduced the predicted approach is evidence.
    * Conjunction tiers use :class:`astroshield.astro.conjunction.risk.RiskThresholds` (NASA CARA:
      yellow Pc >= 1e-5, miss <= 5 km without covariance).
    * Weights favour the two behavioural indicators (approach, maneuvers toward, 0.25 each)
      over the states that can also happen by chance (proximity 0.2, anomaly 0.2,
      conjunction 0.1); ``threat_score`` 0.6 needs more than maneuver plus proximity alone.
    """

    pattern_of_life_z: float = 5.0
    closing_rate_km_per_day: float = 5.0
    proximity_km: float = 50.0
    maneuvers_toward: int = 1
    weight_pattern_of_life: float = 0.2
    weight_approach_trend: float = 0.25
    weight_closest_approach: float = 0.2
    weight_maneuvered_toward: float = 0.25
    weight_conjunction_risk: float = 0.1
    threat_score: float = 0.6
    risk_thresholds: RiskThresholds = field(default_factory=RiskThresholds)

    def __post_init__(self) -> None:
        weights = (
            self.weight_pattern_of_life,
            self.weight_approach_trend,
            self.weight_closest_approach,
            self.weight_maneuvered_toward,
            self.weight_conjunction_risk,
        )
        if any(not (w >= 0 and math.isfinite(w)) for w in weights) or sum(weights) <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        if not 0 < self.threat_score <= 1:
            raise ValueError("threat_score must lie in (0, 1]")


@dataclass(frozen=True, slots=True)
class ConjunctionInput:
    """A screening or CDM result between the two objects (Pc optional)."""

    miss_distance_km: float
    tca: datetime
    pc: float | None = None
    source: str = "conjunction"


@dataclass(frozen=True, slots=True)
class Indicator:
    name: IndicatorName
    value: float | None
    threshold: float
    unit: str
    weight: float
    contributes: bool
    source: str


@dataclass(frozen=True, slots=True)
class IntentAssessment:
    catalog_number: str | None
    category: IntentCategory
    score: float
    evidence: tuple[Indicator, ...]
    explanation: str

    def indicator(self, name: IndicatorName) -> Indicator:
        return next(item for item in self.evidence if item.name == name)


def _epochs_source(label: str, epochs: tuple[datetime, ...], source: str | None) -> str:
    origin = f" from {source}" if source else ""
    if not epochs:
        return f"{label}: no element sets in the window{origin}"
    return (
        f"{label}: {len(epochs)} element sets {epochs[0].isoformat()} .. "
        f"{epochs[-1].isoformat()}{origin}"
    )


def _pattern_indicator(
    pattern: PatternOfLife | None, since: datetime | None, cfg: IntentConfig, source: str | None
) -> Indicator:
    if pattern is None:
        return Indicator(
            IndicatorName.PATTERN_OF_LIFE,
            None,
            cfg.pattern_of_life_z,
            "robust_sigma",
            cfg.weight_pattern_of_life,
            False,
            "no element-set history",
        )
    event = max_event_score(pattern.events, since)
    value = abs(event.score) if event is not None else 0.0
    where = (
        f"pattern of life of {pattern.catalog_number}: {pattern.element_set_count} element sets "
        f"{pattern.first_epoch.isoformat()} .. {pattern.last_epoch.isoformat()}"
        + (f" from {source}" if source else "")
    )
    if event is not None:
        where += f"; largest event {event.kind.value} at {event.epoch.isoformat()}: "
        where += event.explanation
    return Indicator(
        IndicatorName.PATTERN_OF_LIFE,
        value,
        cfg.pattern_of_life_z,
        "robust_sigma",
        cfg.weight_pattern_of_life,
        value >= cfg.pattern_of_life_z,
        where,
    )


def _no_proximity_indicators(cfg: IntentConfig) -> list[Indicator]:
    none = "no relative-motion analysis (not a neighbour or no element sets)"
    return [
        Indicator(
            IndicatorName.APPROACH_TREND,
            None,
            cfg.closing_rate_km_per_day,
            "km/day",
            cfg.weight_approach_trend,
            False,
            none,
        ),
        Indicator(
            IndicatorName.CLOSEST_APPROACH,
            None,
            cfg.proximity_km,
            "km",
            cfg.weight_closest_approach,
            False,
            none,
        ),
        Indicator(
            IndicatorName.MANEUVERED_TOWARD,
            None,
            cfg.maneuvers_toward,
            "count",
            cfg.weight_maneuvered_toward,
            False,
            none,
        ),
    ]


def _proximity_indicators(
    proximity: ProximityReport | None, cfg: IntentConfig, source: str | None
) -> list[Indicator]:
    if proximity is None:
        return _no_proximity_indicators(cfg)
    data = (
        f"SGP4 relative motion {proximity.window_start.isoformat()} .. "
        f"{proximity.window_stop.isoformat()}; "
        + _epochs_source("protected", proximity.protected_epochs, source)
        + "; "
        + _epochs_source(proximity.catalog_number, proximity.neighbour_epochs, source)
    )
    closing = proximity.closing_rate_km_per_day
    approach = Indicator(
        IndicatorName.APPROACH_TREND,
        closing,
        cfg.closing_rate_km_per_day,
        "km/day",
        cfg.weight_approach_trend,
        closing is not None
        and closing >= cfg.closing_rate_km_per_day
        and proximity.trend is ApproachTrend.APPROACHING,
        f"trend {proximity.trend.value} from {len(proximity.daily)} daily minima; {data}",
    )
    closest = proximity.closest_approach_km
    closest_indicator = Indicator(
        IndicatorName.CLOSEST_APPROACH,
        closest,
        cfg.proximity_km,
        "km",
        cfg.weight_closest_approach,
        closest is not None and closest <= cfg.proximity_km,
        (
            f"at {proximity.closest_approach_time.isoformat()}; {data}"
            if proximity.closest_approach_time is not None
            else data
        ),
    )
    toward_indicator = _maneuvered_toward_indicator(proximity, cfg, source)
    return [approach, closest_indicator, toward_indicator]


def _maneuvered_toward_indicator(
    proximity: ProximityReport, cfg: IntentConfig, source: str | None
) -> Indicator:
    toward = [effect for effect in proximity.maneuvers if effect.toward]
    detail = "; ".join(
        f"maneuver {effect.maneuver_epoch.isoformat()} ({effect.delta_v_m_s:.3f} m/s): predicted "
        f"closest approach {effect.predicted_min_range_before_km:.1f} -> "
        f"{effect.predicted_min_range_after_km:.1f} km (sets "
        f"{effect.pre_maneuver_epoch.isoformat()} / {effect.post_maneuver_epoch.isoformat()})"
        for effect in proximity.maneuvers
    )
    return Indicator(
        IndicatorName.MANEUVERED_TOWARD,
        float(len(toward)),
        cfg.maneuvers_toward,
        "count",
        cfg.weight_maneuvered_toward,
        len(toward) >= cfg.maneuvers_toward,
        f"{len(proximity.maneuvers)} maneuvers in the window"
        + (f": {detail}" if detail else "")
        + f"; {_epochs_source(proximity.catalog_number, proximity.neighbour_epochs, source)}",
    )


def _conjunction_indicator(
    conjunction: ConjunctionInput | None, now: datetime, cfg: IntentConfig
) -> Indicator:
    limits = cfg.risk_thresholds
    if conjunction is None:
        return Indicator(
            IndicatorName.CONJUNCTION_RISK,
            None,
            limits.yellow_miss_km,
            "km",
            cfg.weight_conjunction_risk,
            False,
            "no conjunction data",
        )
    risk = assess(
        tca=conjunction.tca,
        now=now,
        miss_distance_km=conjunction.miss_distance_km,
        pc=conjunction.pc,
        thresholds=limits,
    )
    if conjunction.pc is not None:
        value, threshold, unit = conjunction.pc, limits.yellow_pc, "probability"
    else:
        value, threshold, unit = conjunction.miss_distance_km, limits.yellow_miss_km, "km"
    return Indicator(
        IndicatorName.CONJUNCTION_RISK,
        value,
        threshold,
        unit,
        cfg.weight_conjunction_risk,
        risk.tier is not Tier.GREEN,
        f"{conjunction.source}: TCA {conjunction.tca.isoformat()}, tier {risk.tier.value} "
        f"({risk.reason})",
    )


def assess_intent(
    *,
    now: datetime,
    proximity: ProximityReport | None = None,
    pattern: PatternOfLife | None = None,
    conjunction: ConjunctionInput | None = None,
    since: datetime | None = None,
    config: IntentConfig | None = None,
    data_source: str | None = None,
) -> IntentAssessment:
    """Combine the measured indicators into a category, a score and the evidence list.

    ``since`` bounds the pattern-of-life events considered (default: the proximity window
    start, else all); ``data_source`` names where the element sets came from.
    """
    cfg = config or IntentConfig()
    window_start = since or (proximity.window_start if proximity is not None else None)
    evidence = [
        _pattern_indicator(pattern, window_start, cfg, data_source),
        *_proximity_indicators(proximity, cfg, data_source),
        _conjunction_indicator(conjunction, now, cfg),
    ]
    measured = [item for item in evidence if item.value is not None]
    total = sum(item.weight for item in measured)
    score = sum(item.weight for item in measured if item.contributes) / total if total else 0.0
    flags = {item.name for item in evidence if item.contributes}
    in_proximity = bool(flags & {IndicatorName.APPROACH_TREND, IndicatorName.CLOSEST_APPROACH})
    toward = IndicatorName.MANEUVERED_TOWARD in flags
    approaching = IndicatorName.APPROACH_TREND in flags
    if toward and in_proximity and score >= cfg.threat_score:
        category = IntentCategory.POTENTIAL_THREAT
    elif in_proximity and (approaching or toward):
        category = IntentCategory.RENDEZVOUS_INSPECTION
    elif (
        IndicatorName.CONJUNCTION_RISK in flags
        and proximity is not None
        and proximity.maneuvered_away
    ):
        category = IntentCategory.COLLISION_AVOIDANCE
    elif measured and not flags:
        category = IntentCategory.NOMINAL_STATION_KEEPING
    else:
        category = IntentCategory.UNKNOWN
    contributing = ", ".join(sorted(flag.value for flag in flags)) or "none"
    catalog_number = (
        proximity.catalog_number
        if proximity is not None
        else pattern.catalog_number
        if pattern is not None
        else None
    )
    return IntentAssessment(
        catalog_number=catalog_number,
        category=category,
        score=score,
        evidence=tuple(evidence),
        explanation=(
            f"{category.value}: score {score:.2f} from {len(measured)} measured indicators; "
            f"contributing: {contributing}"
        ),
    )
