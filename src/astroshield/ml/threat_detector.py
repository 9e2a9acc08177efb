"""ThreatDetectorNN served with onnxruntime: class probabilities of an object relative to a
protected spacecraft, from the indicators the rule-based intent assessment reads.

Classes (:data:`CLASS_NAMES`): ``nominal``, ``collision_risk``, ``maneuver_anomaly``,
``rendezvous_proximity``, ``unknown``.

Features (:func:`threat_features`, :data:`FEATURE_NAMES`) are computed from exactly the inputs
of :func:`astroshield.astro.ccdm.intent.assess_intent` (a :class:`ProximityReport` from
:mod:`astroshield.astro.ccdm.rpo`, a :class:`PatternOfLife`, a :class:`ConjunctionInput`, the
assessment time and window start) plus the protected spacecraft's latest element set and the
object's element sets (raw geometry and the robust z of its consecutive-set jumps), so the API
can call it with what it already has (:func:`assessment_inputs` builds all of them from the
two histories); training
(:mod:`astroshield.ml.training.threat_detector`) uses the same function on simulated scenarios
(:mod:`astroshield.ml.threat_scenarios`). Every quantity is transformed deterministically
(logarithms of ranges, rates, Pc and Δv; counts as log1p); an indicator that could not be
measured is 0 with a ``*_missing`` flag of 1, never NaN. The standardisation (training mean and
standard deviation) and the temperature are baked into the ONNX graph: it maps the raw
feature vector to probabilities softmax(logits / T).

:func:`baseline_class` maps the rule-based category to the five classes (the baseline the model
is compared with).

The ONNX file ships in ``models/`` with a JSON file beside it; :meth:`ThreatDetector.load`
refuses a file whose hash differs from its metadata (or from a registry's record).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from astroshield.astro.ccdm.intent import (
    ConjunctionInput,
    IndicatorName,
    IntentAssessment,
    IntentCategory,
)
from astroshield.astro.ccdm.maneuvers import detect_maneuvers
from astroshield.astro.ccdm.pattern_of_life import (
    PatternOfLife,
    learn_pattern_of_life,
    max_event_score,
)
from astroshield.astro.ccdm.rpo import (
    ApproachTrend,
    ProximityConfig,
    ProximityReport,
    analyze_neighbour,
    find_neighbours,
    is_geosynchronous,
)
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.ml.features import consecutive_jumps, robust_z, usable_sets
from astroshield.ml.onnx_model import (
    ModelFileError,
    inference_session,
    read_checked_metadata,
    shipped_path,
)

MODEL_NAME = "threat_detector"
MODEL_VERSION = "0.1.0"
INPUT_NAME = "features"
OUTPUT_NAMES = ("probabilities", "logits")

CLASS_NAMES = (
    "nominal",
    "collision_risk",
    "maneuver_anomaly",
    "rendezvous_proximity",
    "unknown",
)

FEATURE_NAMES = (
    "pattern_z_log",
    "pattern_missing",
    "pattern_events_in_window_log",
    "maneuvers_in_window_log",
    "max_dv_in_window_log",
    "history_sets_log",
    "closing_rate_slog",
    "closing_rate_missing",
    "closest_approach_log",
    "closest_approach_missing",
    "daily_min_first_log",
    "daily_min_last_log",
    "daily_min_scatter_log",
    "trend_approaching",
    "trend_departing",
    "trend_station_keeping",
    "trend_insufficient",
    "maneuvers_toward_log",
    "maneuvers_away_log",
    "predicted_change_log",
    "proximity_missing",
    "pc_log10",
    "pc_missing",
    "conjunction_miss_log",
    "conjunction_missing",
    "time_to_tca_days",
    "plane_angle_log",
    "altitude_gap_log",
    "geo_longitude_separation_log",
    "is_geo",
    "geometry_missing",
    "neighbour_sets_in_window_log",
    "protected_sets_in_window_log",
    "along_z_max_log",
    "along_z_over_5_log",
    "a_z_max_log",
    "e_z_max_log",
    "normal_z_max_log",
    "jumps_missing",
)
# Fewer usable sets than this give no robust jump statistic (it needs a history).
MIN_SETS_FOR_RESIDUAL = 8

_ALL_NEIGHBOURS = ProximityConfig(
    max_plane_angle_deg=180.0, altitude_band_km=1e9, geo_longitude_window_deg=360.0
)
_TREND_COLUMNS = {
    ApproachTrend.APPROACHING: "trend_approaching",
    ApproachTrend.DEPARTING: "trend_departing",
    ApproachTrend.STATION_KEEPING_NEARBY: "trend_station_keeping",
    ApproachTrend.INSUFFICIENT_DATA: "trend_insufficient",
}

FloatArray = npt.NDArray[np.float32]


def _log_km(value: float) -> float:
    return math.log10(max(value, 0.0) + 0.01)


def _signed_log(value: float) -> float:
    return math.copysign(math.log1p(abs(value)), value)


def threat_features(
    *,
    now: datetime,
    proximity: ProximityReport | None = None,
    pattern: PatternOfLife | None = None,
    conjunction: ConjunctionInput | None = None,
    since: datetime | None = None,
    protected: ElementSet | None = None,
    history: Sequence[ElementSet] | None = None,
) -> FloatArray:
    """The feature vector (float32, :data:`FEATURE_NAMES`) of one object.

    ``now``, ``proximity``, ``pattern``, ``conjunction`` and ``since`` are the arguments of
    :func:`~astroshield.astro.ccdm.intent.assess_intent` (``since`` defaults to the proximity
    window start, as there); ``protected`` is the protected spacecraft's latest element set
    and ``history`` the object's element sets up to ``now`` (its latest set gives the plane
    angle, altitude gap, GEO longitude separation and regime; the whole history the robust z
    (:func:`astroshield.ml.features.robust_z` over the history) of each consecutive-set
    jump (:func:`astroshield.ml.features.consecutive_jumps`: along track, semi-major axis,
    eccentricity vector, orbit normal), which shows element jumps that the manoeuvre detector
    rejects as outliers and burns below its thresholds).
    """
    f = dict.fromkeys(FEATURE_NAMES, 0.0)
    window_start = since or (proximity.window_start if proximity is not None else None)
    _pattern_features(f, pattern, window_start)
    _proximity_features(f, proximity)
    _conjunction_features(f, conjunction, now)
    latest = max(history, key=lambda s: s.epoch) if history else None
    _geometry_features(f, protected, latest)
    _residual_features(f, history, window_start)
    return np.array([f[name] for name in FEATURE_NAMES], dtype=np.float32)


def _pattern_features(
    f: dict[str, float], pattern: PatternOfLife | None, since: datetime | None
) -> None:
    if pattern is None:
        f["pattern_missing"] = 1.0
        f["max_dv_in_window_log"] = -3.0
        return
    event = max_event_score(pattern.events, since)
    f["pattern_z_log"] = math.log1p(abs(event.score)) if event is not None else 0.0
    events = [e for e in pattern.events if since is None or e.epoch >= since]
    f["pattern_events_in_window_log"] = math.log1p(len(events))
    maneuvers = [m for m in pattern.maneuvers if since is None or m.epoch >= since]
    f["maneuvers_in_window_log"] = math.log1p(len(maneuvers))
    largest = max((m.delta_v_m_s for m in maneuvers), default=0.0)
    f["max_dv_in_window_log"] = math.log10(largest + 1e-3)
    f["history_sets_log"] = math.log1p(pattern.element_set_count)


def _proximity_features(f: dict[str, float], proximity: ProximityReport | None) -> None:
    if proximity is None:
        for name in ("proximity_missing", "closing_rate_missing", "closest_approach_missing"):
            f[name] = 1.0
        f["trend_insufficient"] = 1.0
        return
    if proximity.closing_rate_km_per_day is None:
        f["closing_rate_missing"] = 1.0
    else:
        f["closing_rate_slog"] = _signed_log(proximity.closing_rate_km_per_day)
    if proximity.closest_approach_km is None:
        f["closest_approach_missing"] = 1.0
    else:
        f["closest_approach_log"] = _log_km(proximity.closest_approach_km)
    if proximity.daily:
        ranges = np.array([d.range_km for d in proximity.daily])
        f["daily_min_first_log"] = _log_km(float(ranges[0]))
        f["daily_min_last_log"] = _log_km(float(ranges[-1]))
        if len(ranges) >= 3:
            slope = -(proximity.closing_rate_km_per_day or 0.0)
            residual = ranges - slope * np.arange(len(ranges))
            spread = float(np.median(np.abs(residual - np.median(residual))))
            f["daily_min_scatter_log"] = _log_km(spread)
    f[_TREND_COLUMNS[proximity.trend]] = 1.0
    toward = sum(1 for e in proximity.maneuvers if e.toward)
    away = sum(1 for e in proximity.maneuvers if e.away)
    f["maneuvers_toward_log"] = math.log1p(toward)
    f["maneuvers_away_log"] = math.log1p(away)
    changes = [
        math.log10(
            (e.predicted_min_range_after_km + 0.01) / (e.predicted_min_range_before_km + 0.01)
        )
        for e in proximity.maneuvers
        if math.isfinite(e.predicted_min_range_after_km)
        and math.isfinite(e.predicted_min_range_before_km)
    ]
    f["predicted_change_log"] = min(changes, default=0.0)
    f["neighbour_sets_in_window_log"] = math.log1p(len(proximity.neighbour_epochs))
    f["protected_sets_in_window_log"] = math.log1p(len(proximity.protected_epochs))


def _conjunction_features(
    f: dict[str, float], conjunction: ConjunctionInput | None, now: datetime
) -> None:
    if conjunction is None:
        f["conjunction_missing"] = 1.0
        f["pc_missing"] = 1.0
        return
    f["conjunction_miss_log"] = _log_km(conjunction.miss_distance_km)
    days = (conjunction.tca - now).total_seconds() / 86_400.0
    f["time_to_tca_days"] = max(-10.0, min(10.0, days))
    if conjunction.pc is None:
        f["pc_missing"] = 1.0
    else:
        f["pc_log10"] = math.log10(max(conjunction.pc, 1e-30))


def _geometry_features(
    f: dict[str, float], protected: ElementSet | None, neighbour: ElementSet | None
) -> None:
    if protected is None or neighbour is None:
        f["geometry_missing"] = 1.0
        return
    if protected.catalog_number == neighbour.catalog_number:
        raise ValueError("the protected spacecraft and the object have one catalog number")
    (found,) = find_neighbours(protected, [neighbour], _ALL_NEIGHBOURS)
    f["plane_angle_log"] = math.log10(found.plane_angle_deg + 1e-3)
    f["altitude_gap_log"] = _log_km(found.altitude_gap_km)
    if found.longitude_separation_deg is not None:
        f["geo_longitude_separation_log"] = math.log10(found.longitude_separation_deg + 1e-3)
    f["is_geo"] = 1.0 if is_geosynchronous(protected) else 0.0


def _residual_features(
    f: dict[str, float], history: Sequence[ElementSet] | None, since: datetime | None
) -> None:
    ordered = usable_sets(history) if history else []
    jumps = consecutive_jumps(ordered) if len(ordered) >= MIN_SETS_FOR_RESIDUAL else []
    if len(jumps) < MIN_SETS_FOR_RESIDUAL - 1:
        f["jumps_missing"] = 1.0
        return
    along = robust_z(np.array([j.along_km for _, j in jumps]))
    semi_major = robust_z(np.array([j.da_km for _, j in jumps]))
    eccentricity = np.hypot(
        robust_z(np.array([j.dex for _, j in jumps])), robust_z(np.array([j.dey for _, j in jumps]))
    )
    normal = np.hypot(
        robust_z(np.array([j.dinc for _, j in jumps])),
        robust_z(np.array([j.dnode for _, j in jumps])),
    )
    recent = np.array([since is None or ordered[k].epoch >= since for k, _ in jumps], dtype=bool)
    if not recent.any():
        return
    f["along_z_max_log"] = math.log1p(float(along[recent].max()))
    f["along_z_over_5_log"] = math.log1p(int(np.sum(along[recent] >= 5.0)))
    f["a_z_max_log"] = math.log1p(float(semi_major[recent].max()))
    f["e_z_max_log"] = math.log1p(float(eccentricity[recent].max()))
    f["normal_z_max_log"] = math.log1p(float(normal[recent].max()))


def _epoch(item: ElementSet) -> datetime:
    return item.epoch


def assessment_inputs(
    protected: Sequence[ElementSet],
    neighbour: Sequence[ElementSet],
    now: datetime,
    window_start: datetime,
) -> dict[str, Any]:
    """Proximity report over [window_start, now], the object's pattern of life (sets up to
    ``now``), the protected spacecraft's latest set and the object's sets up to ``now``: what
    assess_intent and threat_features read."""
    own = sorted({s.epoch: s for s in reversed(neighbour) if s.epoch <= now}.values(), key=_epoch)
    mine = [s for s in protected if s.epoch <= now]
    # One detection run serves both analyses (each would otherwise run it on the same sets).
    detections = detect_maneuvers(own) if own else []
    proximity = (
        analyze_neighbour(mine, own, window_start, now, detections=detections)
        if own and mine
        else None
    )
    return {
        "proximity": proximity,
        "pattern": learn_pattern_of_life(own, detections=detections) if own else None,
        "protected": max(mine, key=lambda s: s.epoch) if mine else None,
        "history": own,
    }


# ------------------------------------------------------------------- rule baseline

CATEGORY_TO_CLASS = {
    IntentCategory.POTENTIAL_THREAT: "rendezvous_proximity",
    IntentCategory.RENDEZVOUS_INSPECTION: "rendezvous_proximity",
    IntentCategory.COLLISION_AVOIDANCE: "collision_risk",
    IntentCategory.NOMINAL_STATION_KEEPING: "nominal",
    IntentCategory.UNKNOWN: "unknown",
}


def baseline_class(assessment: IntentAssessment) -> str:
    """The rule baseline's class: the category mapped by :data:`CATEGORY_TO_CLASS`
    (potential threat and rendezvous/inspection -> rendezvous_proximity, collision avoidance ->
    collision_risk, nominal station keeping -> nominal), except that an ``unknown`` category
    is resolved by its contributing indicators when they name a class: conjunction risk ->
    collision_risk, else pattern of life -> maneuver_anomaly (the rules have no category of
    their own for either; without this the baseline could never name them)."""
    mapped = CATEGORY_TO_CLASS[assessment.category]
    if assessment.category is not IntentCategory.UNKNOWN:
        return mapped
    flags = {item.name for item in assessment.evidence if item.contributes}
    if IndicatorName.CONJUNCTION_RISK in flags:
        return "collision_risk"
    if IndicatorName.PATTERN_OF_LIFE in flags:
        return "maneuver_anomaly"
    return mapped


# ------------------------------------------------------------------------- serving


def shipped_model_path(version: str = MODEL_VERSION) -> Path:
    return shipped_path(MODEL_NAME, version)


class ThreatDetector:
    """An ONNX ThreatDetectorNN and its metadata; predicts without torch."""

    def __init__(self, onnx_path: Path, metadata: dict[str, Any]) -> None:
        self.path = onnx_path
        self.metadata = metadata
        self.temperature = float(metadata["temperature"])
        self._session = inference_session(onnx_path)

    @classmethod
    def load(cls, path: Path | None = None, expected_sha256: str | None = None) -> ThreatDetector:
        """The model at ``path`` (default: the one shipped in the package), after checking
        its sha256 against its metadata JSON (and a registry's record, when given) and that
        its features and classes are this module's."""
        onnx_path = path or shipped_model_path()
        metadata = read_checked_metadata(onnx_path, expected_sha256)
        if list(metadata.get("feature_names", [])) != list(FEATURE_NAMES):
            raise ModelFileError(f"{onnx_path}: feature_names are not this version's")
        if list(metadata.get("class_names", [])) != list(CLASS_NAMES):
            raise ModelFileError(f"{onnx_path}: class_names are not this version's")
        if "temperature" not in metadata:
            raise ModelFileError(f"{onnx_path}: metadata has no temperature")
        return cls(onnx_path, metadata)

    def predict(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Calibrated probabilities, shape (n, 5) in :data:`CLASS_NAMES` order, of an
        (n, features) array (one vector is accepted as n = 1)."""
        batch = self._checked(features)
        if batch.shape[0] == 0:
            return np.zeros((0, len(CLASS_NAMES)), dtype=np.float32)
        (probabilities,) = self._session.run([OUTPUT_NAMES[0]], {INPUT_NAME: batch})
        return np.asarray(probabilities, dtype=np.float32)

    @staticmethod
    def _checked(features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        batch = np.asarray(features, dtype=np.float32)
        if batch.ndim == 1:
            batch = batch[None, :]
        if batch.ndim != 2 or batch.shape[1] != len(FEATURE_NAMES):
            raise ValueError(
                f"features must have shape (n, {len(FEATURE_NAMES)}), got {batch.shape}"
            )
        if not np.isfinite(batch).all():
            raise ValueError("features must be finite (missing indicators are flagged, not NaN)")
        return batch

    def logits(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The uncalibrated logits (before the temperature), shape (n, 5)."""
        batch = self._checked(features)
        if batch.shape[0] == 0:
            return np.zeros((0, len(CLASS_NAMES)), dtype=np.float32)
        (logits,) = self._session.run([OUTPUT_NAMES[1]], {INPUT_NAME: batch})
        return np.asarray(logits, dtype=np.float32)

    def classify(self, features: npt.ArrayLike) -> list[str]:
        """The most probable class of each row."""
        return [CLASS_NAMES[int(k)] for k in np.argmax(self.predict(features), axis=1)]
