"""Maneuver detection on the public TLE benchmark satellites.

Data: ../shared/data/maneuvers (CryoSat-2 LEO and Fengyun-2F GEO from Shorten et al. 2023,
arXiv:2212.08662, "Wide-scale Monitoring of Satellite Lifetimes: Pitfalls and a Benchmark
Dataset"). Reference epochs are ``start_utc`` of ``manoeuvres_utc.csv`` (the corrected UTC table
derived from the operator logs), restricted to the TLE span, as the data README prescribes.

Score: a detection matches a maneuver when its epoch is within ±12 h of ``start_utc``; one-to-one
greedy matching, closest pairs first (:func:`astroshield.validation.maneuvers.match_events`). F1 at
±36 h is shown for comparison.

Held-out protocol (``--tune``): the global settings are chosen on the *first half* of the
CryoSat-2 history only (epochs before the midpoint of its TLE span), by F1 at ±12 h over a small
grid; everything else (CryoSat-2 second half, all of Fengyun-2F) is then only evaluated. The
library defaults in :class:`DetectionConfig` are the values that search selected.

Usage (repo root): ``.venv/bin/python benchmarks/maneuver_detection.py [--tune]
[--write-results] [--plots DIR]``
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from astroshield.astro.ccdm.maneuvers import DetectionConfig, ManeuverDetection, detect_maneuvers
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.tle import iter_tles
from astroshield.astro.plots.maneuvers import maneuver_history_plot
from astroshield.validation.maneuvers import MatchResult, load_truth_csv, match_events

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT.parent / "shared" / "data" / "maneuvers"
TRUTH_CSV = DATA / "manoeuvres_utc.csv"
RESULTS = REPO_ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Maneuver detection (issue 9)"
SATELLITES = ("CryoSat-2", "Fengyun-2F")
WINDOW = timedelta(hours=12)
WIDE_WINDOW = timedelta(hours=36)
ANCHOR_F1 = 0.81
MACHINE = "2-core python-svc"

# timing_extension (0, 1, 2) and settle_sets (0, 2) were searched in earlier rounds of the same
# protocol and chose 0 both times; they are left out here to keep the run under 10 minutes.
TUNING_GRID: dict[str, tuple[float | int | bool, ...]] = {
    "threshold_sigma": (6.0, 8.0),
    "tail_quantile": (0.9, 0.95),
    "slow_span": (3, 4),
    "secondary_factor": (2.0, 3.0),
    "persistence_depth": (2, 3),
    "gradual_ratio": (0.35, 0.5),
    "two_sided_timing": (False, True),
    "merge_untimed": (False, True),
}
# Second stage, searched with the first-stage winners fixed (same data, same score).
TUNING_GRID_STAGE2: dict[str, tuple[float | int | bool, ...]] = {
    "unconfirmed_factor": (1.0, 1.5, 2.0, 3.0, 4.0),
    "timing_blend": (0.0, 0.5, 1.0),
}


@dataclass(frozen=True, slots=True)
class Score:
    name: str
    truth: int
    detected: int
    strict: MatchResult
    wide: MatchResult
    seconds: float


def load_history(satellite: str) -> list[ElementSet]:
    path = DATA / "processed_files" / f"{satellite}.tle"
    with path.open(encoding="ascii") as handle:
        return sorted((tle.elements for tle in iter_tles(handle)), key=lambda item: item.epoch)


def truth_in_span(satellite: str, elements: list[ElementSet]) -> list[datetime]:
    first, last = elements[0].epoch, elements[-1].epoch
    return [t for t in load_truth_csv(TRUTH_CSV, satellite) if first <= t <= last]


def evaluate(
    name: str, elements: list[ElementSet], truth: list[datetime], config: DetectionConfig
) -> tuple[Score, list[ManeuverDetection]]:
    start = time.perf_counter()
    detections = detect_maneuvers(elements, config=config)
    seconds = time.perf_counter() - start
    epochs = [d.epoch for d in detections]
    return (
        Score(
            name=name,
            truth=len(truth),
            detected=len(detections),
            strict=match_events(epochs, truth, WINDOW),
            wide=match_events(epochs, truth, WIDE_WINDOW),
            seconds=seconds,
        ),
        detections,
    )


def pooled(name: str, scores: list[Score]) -> Score:
    def add(results: list[MatchResult]) -> MatchResult:
        return MatchResult(
            true_positives=sum(r.true_positives for r in results),
            false_positives=sum(r.false_positives for r in results),
            false_negatives=sum(r.false_negatives for r in results),
            pairs=(),
        )

    return Score(
        name=name,
        truth=sum(s.truth for s in scores),
        detected=sum(s.detected for s in scores),
        strict=add([s.strict for s in scores]),
        wide=add([s.wide for s in scores]),
        seconds=sum(s.seconds for s in scores),
    )


def split_half(elements: list[ElementSet]) -> tuple[list[ElementSet], list[ElementSet]]:
    middle = elements[0].epoch + (elements[-1].epoch - elements[0].epoch) / 2
    return (
        [e for e in elements if e.epoch < middle],
        [e for e in elements if e.epoch >= middle],
    )


def tune(console: Console, *, stage2_only: bool = False) -> DetectionConfig:
    """Grid search on the first half of CryoSat-2 only (F1 at ±12 h, ties -> fewer detections).

    Stage 1 searches ``TUNING_GRID`` from the library defaults; stage 2 then searches
    ``TUNING_GRID_STAGE2`` with the stage-1 winner fixed. ``stage2_only`` starts stage 2 from
    the library defaults (which are the stage-1 winners).
    """
    first_half, _ = split_half(load_history("CryoSat-2"))
    truth = truth_in_span("CryoSat-2", first_half)
    config = DetectionConfig()
    stages = [TUNING_GRID_STAGE2] if stage2_only else [TUNING_GRID, TUNING_GRID_STAGE2]
    for number, grid in enumerate(stages, start=2 if stage2_only else 1):
        best: tuple[float, int, DetectionConfig] | None = None
        keys = list(grid)
        for values in itertools.product(*(grid[key] for key in keys)):
            trial = replace(config, **dict(zip(keys, values, strict=True)))  # type: ignore[arg-type]
            score, _ = evaluate("tune", first_half, truth, trial)
            key = (score.strict.f1, -score.detected)
            if best is None or key > (best[0], best[1]):
                best = (score.strict.f1, -score.detected, trial)
        assert best is not None
        config = best[2]
        chosen = {key: getattr(config, key) for key in keys}
        console.print(f"tuning stage {number} (CryoSat-2 first half): F1 {best[0]:.3f}, {chosen}")
    return config


def dv_comparison(satellite: str, detections: list[ManeuverDetection]) -> str:
    """Median ratio of estimated to logged Δv over matched CryoSat-2 maneuvers (IDS log)."""
    with TRUTH_CSV.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["satellite"] == satellite]
    logged = {
        datetime.fromisoformat(r["start_utc"].replace("Z", "+00:00")): float(r["dv_total_m_s"])
        for r in rows
        if r["dv_total_m_s"]
    }
    if not logged:
        return "no logged Δv"
    truth = sorted(logged)
    result = match_events([d.epoch for d in detections], truth, WINDOW)
    ratios = [detections[i].delta_v_m_s / logged[truth[j]] for i, j in result.pairs]
    if not ratios:
        return "no matches"
    q25, q50, q75 = np.percentile(ratios, [25, 50, 75])
    return (
        f"estimated/logged Δv over {len(ratios)} matched maneuvers: "
        f"median {q50:.2f} (IQR {q25:.2f}-{q75:.2f})"
    )


def window_coverage(detections: list[ManeuverDetection], truth: list[datetime]) -> str:
    """How often a matched logged start lies inside the reported uncertainty window."""
    result = match_events([d.epoch for d in detections], truth, WINDOW)
    if not result.pairs:
        return "no matches"
    inside = sum(
        1
        for i, j in result.pairs
        if detections[i].window_start <= truth[j] <= detections[i].window_end
    )
    errors = [abs((detections[i].epoch - truth[j]).total_seconds()) / 3600 for i, j in result.pairs]
    widths = [(d.window_end - d.window_start).total_seconds() / 3600 for d in detections]
    return (
        f"logged start inside [window_start, window_end] for {inside}/{len(result.pairs)} "
        f"matches; median |epoch - start| {statistics.median(errors):.1f} h; median window "
        f"width {statistics.median(widths):.1f} h"
    )


def unmatched_large(detections: list[ManeuverDetection], truth: list[datetime]) -> str:
    """False positives with a large jump and no logged maneuver within ±3 days.

    Reported (not excluded) because they look like real burns missing from the log: their size
    is that of the logged station-keeping burns, far above the TLE scatter.
    """
    result = match_events([d.epoch for d in detections], truth, WINDOW)
    matched = {i for i, _ in result.pairs}
    far = [
        d
        for i, d in enumerate(detections)
        if i not in matched
        and d.score >= 50.0
        and all(abs(d.epoch - t) > timedelta(days=3) for t in truth)
    ]
    if not far:
        return "no unmatched detection above 50 sigma"

    def nearest_days(d: ManeuverDetection) -> float:
        return min(abs((d.epoch - t).total_seconds()) for t in truth) / 86400.0

    listed = ", ".join(
        f"{d.epoch:%Y-%m-%d %H:%M} ({d.delta_v_m_s:.2f} m/s {d.kind}, nearest logged start "
        f"{nearest_days(d):.1f} d)"
        for d in far
    )
    return (
        f"{len(far)} unmatched detections above 50 sigma with no logged maneuver within "
        f"±3 d (possible gaps in the log; counted as false positives): {listed}"
    )


def missed_breakdown(
    satellite: str, detections: list[ManeuverDetection], truth: list[datetime]
) -> str:
    """What the missed logged maneuvers are: tiny, close pairs, or neither."""
    with TRUTH_CSV.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["satellite"] == satellite]
    dv = {
        datetime.fromisoformat(r["start_utc"].replace("Z", "+00:00")): r["dv_total_m_s"]
        for r in rows
    }
    result = match_events([d.epoch for d in detections], truth, WINDOW)
    matched = {j for _, j in result.pairs}
    missed_index = [j for j in range(len(truth)) if j not in matched]
    missed = [truth[j] for j in missed_index]
    tiny = sum(1 for t in missed if dv.get(t) and float(dv[t]) < 0.01)
    # By row, not by time: Fengyun-2F's log repeats one row exactly (2017-09-05).
    paired = sum(
        1
        for j in missed_index
        if any(k != j and abs(truth[k] - truth[j]) < timedelta(hours=24) for k in range(len(truth)))
    )
    near = sum(1 for t in missed if any(abs(d.epoch - t) <= WIDE_WINDOW for d in detections))
    return (
        f"{len(missed)} missed: {tiny} with logged Δv < 0.01 m/s, {paired} less than 24 h from "
        f"another logged row (one detection matches one row), {near} with a detection within "
        "±36 h (timing miss)"
    )


def table(scores: list[Score]) -> Table:
    out = Table(title="Maneuver detection, ±12 h one-to-one matching")
    for column in (
        "set",
        "maneuvers",
        "detections",
        "TP",
        "FP",
        "FN",
        "precision",
        "recall",
        "F1 ±12 h",
        "F1 ±36 h",
        "time [s]",
    ):
        out.add_column(column, justify="left" if column == "set" else "right")
    for s in scores:
        out.add_row(*row(s))
    return out


def row(s: Score) -> list[str]:
    return [
        s.name,
        str(s.truth),
        str(s.detected),
        str(s.strict.true_positives),
        str(s.strict.false_positives),
        str(s.strict.false_negatives),
        f"{s.strict.precision:.3f}",
        f"{s.strict.recall:.3f}",
        f"{s.strict.f1:.3f}",
        f"{s.wide.f1:.3f}",
        f"{s.seconds:.1f}",
    ]


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def write_results(scores: list[Score], config: DetectionConfig, notes: list[str]) -> None:
    header = (
        "| set | maneuvers | detections | TP | FP | FN | precision | recall "
        "| F1 ±12 h | F1 ±36 h | time [s] |"
    )
    lines = [
        SECTION,
        "",
        "Command (repo root): `.venv/bin/python benchmarks/maneuver_detection.py --write-results`",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {MACHINE} ({os.cpu_count()} CPUs, {cpu_model()}, shared); "
        f"Python {platform.python_version()}",
        "- Data: ../shared/data/maneuvers (Shorten et al. 2023 benchmark, arXiv:2212.08662); "
        "reference = `start_utc` of `manoeuvres_utc.csv` inside the TLE span",
        "- Score: epoch within ±12 h of `start_utc`, greedy closest-first one-to-one matching",
        f"- Settings (library defaults): `{asdict(config)}`",
        "",
        header,
        "|" + " --- |" * 11,
    ]
    lines += ["| " + " | ".join(row(s)) + " |" for s in scores]
    lines += ["", *notes, ""]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(SECTION)
    if start >= 0:
        following = text.find("\n## ", start + len(SECTION))
        text = text[:start] + (text[following + 1 :] if following >= 0 else "")
    RESULTS.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="grid search on CryoSat-2 1st half")
    parser.add_argument("--tune-stage2", action="store_true", help="only the second tuning stage")
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--plots", type=Path, default=None, help="directory for PNG plots")
    args = parser.parse_args()
    console = Console(width=150)
    if args.tune or args.tune_stage2:
        config = tune(console, stage2_only=args.tune_stage2)
    else:
        config = DetectionConfig()

    scores: list[Score] = []
    notes: list[str] = []
    for satellite in SATELLITES:
        elements = load_history(satellite)
        truth = truth_in_span(satellite, elements)
        score, detections = evaluate(satellite, elements, truth, config)
        scores.append(score)
        notes.append(f"- {satellite}: {dv_comparison(satellite, detections)}")
        notes.append(f"- {satellite}: {window_coverage(detections, truth)}")
        notes.append(f"- {satellite}: {unmatched_large(detections, truth)}")
        notes.append(f"- {satellite}: {missed_breakdown(satellite, detections, truth)}")
        if satellite == "CryoSat-2":
            first, second = split_half(elements)
            for label, part in (("tuning half", first), ("held-out half", second)):
                part_score, _ = evaluate(
                    f"  CryoSat-2 {label}", part, truth_in_span(satellite, part), config
                )
                scores.append(part_score)
        if args.plots is not None:
            args.plots.mkdir(parents=True, exist_ok=True)
            png = maneuver_history_plot(
                elements,
                detections,
                truth=truth,
                title=f"{satellite}: {len(detections)} detections, {len(truth)} logged",
            )
            (args.plots / f"{satellite}.png").write_bytes(png)
    notes += [
        "- Held-out protocol: every numeric setting was chosen by `--tune` on the first half of "
        "the CryoSat-2 history only (two-stage grid: `TUNING_GRID`, then `TUNING_GRID_STAGE2` "
        "with the stage-1 winners fixed; F1 ±12 h, ties to fewer detections); the CryoSat-2 "
        "second half and all of Fengyun-2F played no part in choosing values. The *design* "
        "(e.g. the two-sided timing, the merging of untimed follow-up jumps, the stricter "
        "threshold for steps the along-track drift cannot time) was developed while inspecting "
        "errors on both public satellites, so they are not blind in the strict sense; the "
        "independent check is the lead's other satellites. Same code and settings for LEO and "
        "GEO; nothing per satellite.",
        "- Added after that tuning, from the Fengyun-2F timing errors (the run of 2026-11-25 "
        "timed GEO burns 5-8 h late: median |epoch - start| 5.0 h, F1 0.838): the burn time "
        "of day from the direction of a significant eccentricity jump (Gauss equations; the "
        "along-track drift line ignores the 4Δv/n periodic term, hours at GEO), its orbital "
        "revolution chosen by continuity of position between the pre- and post-burn sets; and "
        "the removal of sets that are bad in e or the orbit normal alone (the path through "
        "them is a detour). Neither adds a tuned number: `phase_dv_ratio` = 2 (a radial part "
        "turning Δe by at most 60°) was fixed, not searched. The timing acts only where the "
        "eccentricity jump is significant and the orbit slower than ~5 rev/day (where the "
        "periodic term exceeds the 1 h timing floor), so every CryoSat-2 detection is "
        "unchanged.",
        f"- Anchor F1 ≈ {ANCHOR_F1}: the robust-statistics TLE change detector published by "
        "Vantafort (P 0.922, R 0.725, F1 0.812 at ±12 h on nine LEO satellites with ILRS "
        "maneuver logs; https://vantafort.com/research/maneuvers). Different satellites, so a "
        "level to aim at rather than a like-for-like comparison.",
    ]
    whole = [s for s in scores if not s.name.startswith("  ")]
    scores.append(pooled("overall (pooled)", whole))
    macro = statistics.fmean(s.strict.f1 for s in whole)
    console.print(table(scores))
    console.print(f"macro-average F1 ±12 h: {macro:.3f}; published anchor F1 ≈ {ANCHOR_F1}")
    for note in notes:
        console.print(note, markup=False)
    if args.write_results:
        write_results(scores, config, notes)
        console.print(f"wrote {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
