"""Scoring maneuver detections against ground truth: reference epochs from operator logs,
one-to-one matching of detected and reference epochs, precision, recall and F1; and the naive
reference detector the benchmark compares against.

Used by benchmarks and tests, not by the service.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from astroshield.astro.dynamics.elements import ElementSet

__all__ = ["MatchResult", "load_truth_csv", "match_events", "naive_detections", "pool_results"]

# MAD -> sigma for a normal distribution.
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class MatchResult:
    """One-to-one matching of detections with reference events."""

    true_positives: int
    false_positives: int
    false_negatives: int
    pairs: tuple[tuple[int, int], ...]  # (detection index, truth index)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        total = self.true_positives + self.false_negatives
        return self.true_positives / total if total else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2.0 * p * r / (p + r) if p + r else 0.0


def match_events(
    detected: Sequence[datetime], truth: Sequence[datetime], window: timedelta
) -> MatchResult:
    """Greedy closest-first one-to-one matching within ``±window``.

    All (detection, truth) pairs within the window are sorted by time distance and accepted
    when neither side is taken yet; each detection matches at most one event and vice versa.
    """
    candidates = sorted(
        (abs((d - t).total_seconds()), i, j)
        for i, d in enumerate(detected)
        for j, t in enumerate(truth)
        if abs(d - t) <= window
    )
    used_d: set[int] = set()
    used_t: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i in used_d or j in used_t:
            continue
        used_d.add(i)
        used_t.add(j)
        pairs.append((i, j))
    return MatchResult(
        true_positives=len(pairs),
        false_positives=len(detected) - len(pairs),
        false_negatives=len(truth) - len(pairs),
        pairs=tuple(sorted(pairs)),
    )


def load_truth_csv(path: Path, satellite: str) -> list[datetime]:
    """``start_utc`` of one satellite from a ``manoeuvres_utc.csv`` style table, sorted."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["satellite"] == satellite]
    return sorted(datetime.fromisoformat(row["start_utc"].replace("Z", "+00:00")) for row in rows)


def pool_results(results: Iterable[MatchResult]) -> MatchResult:
    """Counts summed over several matchings (pooled precision, recall and F1); no pairs."""
    items = list(results)
    return MatchResult(
        true_positives=sum(r.true_positives for r in items),
        false_positives=sum(r.false_positives for r in items),
        false_negatives=sum(r.false_negatives for r in items),
        pairs=(),
    )


def naive_detections(elements: Sequence[ElementSet], threshold: float) -> list[datetime]:
    """The naive reference detector: robust z-scores of consecutive-set jumps.

    The jumps are the differences of the published mean motion and inclination between
    consecutive sets (sorted by epoch, repeated epochs dropped). Each is scored against the
    whole history's median and 1.4826·MAD; an interval whose larger |z| reaches ``threshold``
    is a detection at its midpoint, and a run of consecutive flagged intervals (one bad set
    gives two) is one detection at its strongest interval. No propagation, no drag model.
    """
    by_epoch: dict[datetime, ElementSet] = {}
    for item in elements:
        by_epoch.setdefault(item.epoch, item)
    ordered = [by_epoch[key] for key in sorted(by_epoch)]
    if len(ordered) < 3:
        return []
    z = np.maximum(
        _robust_abs_z(np.diff(np.array([e.mean_motion_rev_per_day for e in ordered]))),
        _robust_abs_z(np.diff(np.array([e.inclination_deg for e in ordered]))),
    )
    found: list[datetime] = []
    best = -1
    for index, value in enumerate(z.tolist()):
        if value >= threshold:
            if best < 0 or value > z[best]:
                best = index
            continue
        if best >= 0:
            found.append(_midpoint(ordered[best].epoch, ordered[best + 1].epoch))
            best = -1
    if best >= 0:
        found.append(_midpoint(ordered[best].epoch, ordered[best + 1].epoch))
    return found


def _robust_abs_z(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    center = np.median(values)
    # Floor at a tiny positive scale: a history of identical rounded values has MAD 0.
    scale = max(_MAD_TO_SIGMA * float(np.median(np.abs(values - center))), 1e-12)
    return np.asarray(np.abs(values - center) / scale, dtype=np.float64)


def _midpoint(first: datetime, second: datetime) -> datetime:
    return first + (second - first) / 2
