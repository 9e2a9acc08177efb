"""Evaluation of the AdversaryEncoder on the real histories, beside the non-ML detectors.

Ground truth: ``start_utc`` of ``manoeuvres_utc.csv`` (the operator logs, see the data
README), restricted to the TLE span. Each scored element set is *positive* when a logged
manoeuvre started after the previous set's epoch and at or before its own. Every method
scores the same sets (those the AdversaryEncoder scores: every set after the first
``window`` of a history), so the ROC AUCs are comparable:

- ``adversary_encoder``: the ONNX model's reconstruction error of the newest set;
- ``ccdm_detector``: :func:`astroshield.astro.ccdm.maneuvers.detect_maneuvers` turned into a
  score: a set whose interval holds a detection's epoch scores that detection's ``score``
  (its largest jump in robust sigmas, at least the detection threshold); any other set scores
  the detector's internal residual statistic (the largest robust z of its consecutive jump,
  :func:`astroshield.astro.ccdm.maneuvers.noise.max_z`) capped just below the threshold, so
  every reported detection outranks every set the detector let pass;
- ``ccdm_residual``: that residual statistic alone;
- ``naive``: the score behind the naive reference detector of
  :func:`astroshield.validation.maneuvers.naive_detections` (the larger robust |z| over the
  whole history of the consecutive differences of published mean motion and inclination;
  re-stated here because ``validation`` serves tests and benchmarks only; a test checks the
  two agree).

ROC AUC is the Mann-Whitney probability that a positive set outscores a negative one (ties
count half). Leave-one-satellite-out: the model is trained on simulated data only (and
optionally the other five satellites), so the held-out satellite is never seen in training or
threshold calibration.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from astroshield.astro.ccdm.maneuvers import DetectionConfig, detect_maneuvers
from astroshield.astro.ccdm.maneuvers.noise import max_z, noise_model, z_scores
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.ml.adversary_encoder import AdversaryEncoder, ScoredSet
from astroshield.ml.features import (
    NORMALISATION_WINDOW,
    TAIL_QUANTILE,
    consecutive_jumps,
    robust_z,
    usable_sets,
)

FloatArray = npt.NDArray[np.float64]
SATELLITES = ("CryoSat-2", "Jason-2", "Sentinel-3A", "Haiyang-2A", "Fengyun-2F", "Fengyun-2E")
METHODS = ("adversary_encoder", "ccdm_detector", "ccdm_residual", "naive")


@dataclass(frozen=True, slots=True)
class SatelliteScores:
    """Labels and every method's scores for the scored sets of one satellite."""

    satellite: str
    epochs: tuple[datetime, ...]
    labels: npt.NDArray[np.bool_]
    scores: dict[str, FloatArray]
    manoeuvres_in_span: int


def load_truth(csv_path: Path, satellite: str) -> list[datetime]:
    """``start_utc`` of one satellite's rows of ``manoeuvres_utc.csv``, sorted."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["satellite"] == satellite]
    return sorted(datetime.fromisoformat(row["start_utc"].replace("Z", "+00:00")) for row in rows)


def interval_labels(
    scored: Sequence[ScoredSet], truth: Sequence[datetime]
) -> npt.NDArray[np.bool_]:
    """Whether a reference epoch lies in (previous, epoch] of each scored set."""
    starts = np.array([t.timestamp() for t in truth])
    return np.array(
        [
            bool(np.any((starts > s.previous.timestamp()) & (starts <= s.epoch.timestamp())))
            for s in scored
        ],
        dtype=bool,
    )


def naive_scores(elements: Sequence[ElementSet]) -> dict[datetime, float]:
    """Score of each set after the first: max robust |z| of Δn and Δi from the previous set
    (sorted by epoch, repeated epochs dropped), as in the naive reference detector."""
    by_epoch: dict[datetime, ElementSet] = {}
    for item in elements:
        by_epoch.setdefault(item.epoch, item)
    ordered = [by_epoch[key] for key in sorted(by_epoch)]
    n = np.array([e.mean_motion_rev_per_day for e in ordered])
    inc = np.array([e.inclination_deg for e in ordered])
    z = np.maximum(robust_z(np.diff(n)), robust_z(np.diff(inc)))
    return {ordered[k + 1].epoch: float(z[k]) for k in range(len(z))}


def residual_scores(elements: Sequence[ElementSet]) -> dict[datetime, float]:
    """The CCDM detector's residual statistic of each set's consecutive jump."""
    ordered = usable_sets(elements)
    jumps = consecutive_jumps(ordered)
    noise = noise_model([j for _, j in jumps], NORMALISATION_WINDOW, TAIL_QUANTILE)
    z = z_scores([j for _, j in jumps], noise)
    return {ordered[k].epoch: max_z(z, row) for row, (k, _) in enumerate(jumps)}


def detector_scores(
    elements: Sequence[ElementSet], scored: Sequence[ScoredSet]
) -> tuple[FloatArray, FloatArray]:
    """(``ccdm_detector``, ``ccdm_residual``) scores of the scored sets."""
    config = DetectionConfig()
    residual = residual_scores(elements)
    plain = np.array([residual.get(s.epoch, 0.0) for s in scored])
    capped = np.minimum(plain, config.threshold_sigma * 0.999)
    detections = detect_maneuvers(elements, config=config)
    starts = np.array([s.previous.timestamp() for s in scored])
    ends = np.array([s.epoch.timestamp() for s in scored])
    for detection in detections:
        moment = detection.epoch.timestamp()
        hit = np.nonzero((starts < moment) & (moment <= ends))[0]
        for index in hit:
            capped[index] = max(capped[index], detection.score, config.threshold_sigma)
    return capped, plain


def satellite_scores(
    satellite: str,
    elements: Sequence[ElementSet],
    truth: Sequence[datetime],
    model: AdversaryEncoder,
) -> SatelliteScores:
    scored = model.score_history(elements)
    first, last = min(e.epoch for e in elements), max(e.epoch for e in elements)
    inside = [t for t in truth if first <= t <= last]
    naive = naive_scores(elements)
    detector, residual = detector_scores(elements, scored)
    return SatelliteScores(
        satellite=satellite,
        epochs=tuple(s.epoch for s in scored),
        labels=interval_labels(scored, inside),
        scores={
            "adversary_encoder": np.array([s.score for s in scored]),
            "ccdm_detector": detector,
            "ccdm_residual": residual,
            "naive": np.array([naive.get(s.epoch, 0.0) for s in scored]),
        },
        manoeuvres_in_span=len(inside),
    )


def roc_auc(labels: npt.NDArray[np.bool_], scores: FloatArray) -> float:
    """Mann-Whitney ROC AUC (ties count half); NaN without both classes."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float(
        (ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives)
    )


def roc_curve(labels: npt.NDArray[np.bool_], scores: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(false-positive rate, true-positive rate) at every threshold, from (0, 0) to (1, 1)."""
    order = np.argsort(-scores, kind="stable")
    hits = labels[order].astype(np.float64)
    tpr = np.concatenate([[0.0], np.cumsum(hits) / max(hits.sum(), 1.0)])
    fpr = np.concatenate([[0.0], np.cumsum(1.0 - hits) / max((1.0 - hits).sum(), 1.0)])
    return fpr, tpr


def auc_table(results: Sequence[SatelliteScores]) -> dict[str, dict[str, float]]:
    """ROC AUC of every method per satellite and pooled (all scored sets together)."""
    table: dict[str, dict[str, float]] = {}
    for result in results:
        table[result.satellite] = {m: roc_auc(result.labels, result.scores[m]) for m in METHODS}
    labels = np.concatenate([r.labels for r in results])
    table["pooled"] = {
        m: roc_auc(labels, np.concatenate([r.scores[m] for r in results])) for m in METHODS
    }
    return table


def evaluate(
    histories: Mapping[str, Sequence[ElementSet]],
    truth_csv: Path,
    model_for: Callable[[str], AdversaryEncoder],
    progress: Callable[[str], None] | None = None,
) -> list[SatelliteScores]:
    """Scores of every satellite with the model ``model_for(satellite)`` (its LOSO fold)."""
    results = []
    for satellite, elements in histories.items():
        if progress is not None:
            progress(satellite)
        truth = load_truth(truth_csv, satellite)
        results.append(satellite_scores(satellite, elements, truth, model_for(satellite)))
    return results
