"""Evaluation of ThreatDetectorNN beside the rule baseline (pure; onnxruntime only).

- **Held-out simulation**: scenarios of a seed never used in training
  (:mod:`astroshield.ml.threat_scenarios`): macro-F1, per-class F1 and confusion matrix of the
  model and of the rule baseline (:func:`astroshield.ml.threat_detector.baseline_class`) on the
  same samples; ECE of the model before (T = 1) and after temperature scaling.
- **Real histories, manoeuvre class**: nothing is trained on the real data, so every real
  window is held out (no leave-one-satellite-out is needed). Each of the six satellites of
  ``../shared/data/maneuvers`` is the *object*, and another satellite of its regime whose TLE
  span overlaps (:data:`PARTNERS`) plays the protected spacecraft (an unrelated neighbour: the
  pairs are in different orbits). Assessment times every ``step_days`` across the common
  span; at each, the last :data:`~astroshield.ml.threat_scenarios.SETS` sets of each object up
  to then, the 7-day window, the indicators and features exactly as in training. A window is
  *positive* when a logged manoeuvre (``start_utc``) lies in it; the model and the baseline
  call it positive when their class is ``maneuver_anomaly``. Reported: true- and
  false-positive rates of both, and the classes they gave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from astroshield.astro.ccdm.intent import assess_intent
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.ml.threat_detector import (
    CLASS_NAMES,
    ThreatDetector,
    assessment_inputs,
    baseline_class,
    threat_features,
)
from astroshield.ml.threat_metrics import (
    confusion_matrix,
    expected_calibration_error,
    macro_f1,
    per_class_f1,
    softmax,
)
from astroshield.ml.threat_scenarios import SETS, WINDOW_DAYS

PARTNERS = {
    "CryoSat-2": "Haiyang-2A",
    "Jason-2": "CryoSat-2",
    "Sentinel-3A": "CryoSat-2",
    "Haiyang-2A": "CryoSat-2",
    "Fengyun-2F": "Fengyun-2E",
    "Fengyun-2E": "Fengyun-2F",
}
MANEUVER = CLASS_NAMES.index("maneuver_anomaly")


def held_out_metrics(
    detector: ThreatDetector,
    features: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    baseline: Sequence[str],
) -> dict[str, Any]:
    """Model and baseline scores on the same held-out samples."""
    classes = len(CLASS_NAMES)
    probabilities = detector.predict(features).astype(np.float64)
    logits = detector.logits(features).astype(np.float64)
    predicted = probabilities.argmax(axis=1)
    base = np.array([CLASS_NAMES.index(c) for c in baseline], dtype=np.int64)
    model_matrix = confusion_matrix(labels, predicted, classes)
    base_matrix = confusion_matrix(labels, base, classes)
    return {
        "samples": len(labels),
        "macro_f1": {
            "model": macro_f1(labels, predicted, classes),
            "rule_baseline": macro_f1(labels, base, classes),
        },
        "per_class_f1": {
            "model": dict(zip(CLASS_NAMES, per_class_f1(model_matrix).tolist(), strict=True)),
            "rule_baseline": dict(
                zip(CLASS_NAMES, per_class_f1(base_matrix).tolist(), strict=True)
            ),
        },
        "accuracy": {
            "model": float(np.mean(predicted == labels)),
            "rule_baseline": float(np.mean(base == labels)),
        },
        "confusion": {"model": model_matrix.tolist(), "rule_baseline": base_matrix.tolist()},
        "ece": {
            "before_temperature": expected_calibration_error(softmax(logits), labels),
            "after_temperature": expected_calibration_error(probabilities, labels),
        },
        "temperature": detector.temperature,
    }


def _span(history: Sequence[ElementSet]) -> tuple[datetime, datetime]:
    epochs = [s.epoch for s in history]
    return min(epochs), max(epochs)


def real_windows(
    histories: Mapping[str, Sequence[ElementSet]],
    truth: Mapping[str, Sequence[datetime]],
    *,
    step_days: float = 14.0,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per assessed window: satellite, time, label, features, baseline class."""
    rows: list[dict[str, Any]] = []
    for satellite, partner in PARTNERS.items():
        if satellite not in histories or partner not in histories:
            continue
        own = sorted(histories[satellite], key=lambda s: s.epoch)
        protected = sorted(histories[partner], key=lambda s: s.epoch)
        first = max(_span(own)[0], _span(protected)[0]) + timedelta(days=60)
        last = min(_span(own)[1], _span(protected)[1])
        starts = np.array([t.timestamp() for t in truth.get(satellite, ())])
        now = first
        own_epochs = np.array([s.epoch.timestamp() for s in own])
        protected_epochs = np.array([s.epoch.timestamp() for s in protected])
        while now <= last:
            window_start = now - timedelta(days=WINDOW_DAYS)
            k = int(np.searchsorted(own_epochs, now.timestamp(), side="right"))
            j = int(np.searchsorted(protected_epochs, now.timestamp(), side="right"))
            object_sets, protected_sets = own[max(k - SETS, 0) : k], protected[max(j - SETS, 0) : j]
            if len(object_sets) >= 3 and len(protected_sets) >= 3:
                rows.append(_real_row(satellite, partner, now, window_start, protected_sets,
                                      object_sets, starts))  # fmt: skip
            now += timedelta(days=step_days)
        if progress is not None:
            progress(satellite)
    return rows


def _real_row(
    satellite: str, partner: str, now: datetime, window_start: datetime,
    protected: Sequence[ElementSet], own: Sequence[ElementSet], starts: npt.NDArray[np.float64],
) -> dict[str, Any]:  # fmt: skip
    inputs = assessment_inputs(protected, own, now, window_start)
    features = threat_features(
        now=now,
        proximity=inputs["proximity"],
        pattern=inputs["pattern"],
        since=window_start,
        protected=inputs["protected"],
        history=inputs["history"],
    )
    assessment = assess_intent(
        now=now, proximity=inputs["proximity"], pattern=inputs["pattern"], since=window_start
    )
    label = bool(np.any((starts > window_start.timestamp()) & (starts <= now.timestamp())))
    return {
        "satellite": satellite,
        "protected": partner,
        "now": now,
        "manoeuvre": label,
        "features": features,
        "baseline": baseline_class(assessment),
    }


def real_metrics(detector: ThreatDetector, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Manoeuvre-class rates of the model and the baseline, per satellite and pooled."""
    if not rows:
        return {}
    features = np.stack([row["features"] for row in rows])
    model = [CLASS_NAMES[k] for k in detector.predict(features).argmax(axis=1)]
    result: dict[str, Any] = {}
    satellites = sorted({row["satellite"] for row in rows})
    for name in [*satellites, "pooled"]:
        chosen = [k for k, row in enumerate(rows) if name in ("pooled", row["satellite"])]
        labels = np.array([rows[k]["manoeuvre"] for k in chosen], dtype=bool)
        entry: dict[str, Any] = {"windows": len(chosen), "with_manoeuvre": int(labels.sum())}
        for method, classes in (("model", model), ("rule_baseline", [r["baseline"] for r in rows])):
            called = np.array([classes[k] == "maneuver_anomaly" for k in chosen], dtype=bool)
            entry[method] = {
                "true_positive_rate": float(called[labels].mean()) if labels.any() else None,
                "false_positive_rate": float(called[~labels].mean()) if (~labels).any() else None,
                "classes_given": {
                    c: sum(1 for k in chosen if classes[k] == c) for c in CLASS_NAMES
                },
            }
        result[name] = entry
    return result
