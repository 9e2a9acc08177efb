"""Scoring maneuver detections against ground truth: reference epochs from operator logs,
one-to-one matching of detected and reference epochs, precision, recall and F1.

Used by benchmarks and tests, not by the service.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

__all__ = ["MatchResult", "load_truth_csv", "match_events"]


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
