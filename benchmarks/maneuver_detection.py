"""Maneuver detection on six satellites of the public TLE benchmark, leave-one-satellite-out.

Data: ../shared/data/maneuvers (Shorten et al. 2023, arXiv:2212.08662, "Wide-scale Monitoring of
Satellite Lifetimes: Pitfalls and a Benchmark Dataset"): CryoSat-2, Jason-2, Sentinel-3A,
Haiyang-2A (LEO, three regimes) and Fengyun-2F, Fengyun-2E (GEO). Reference epochs are
``start_utc`` of ``manoeuvres_utc.csv`` (the corrected UTC table derived from the operator logs),
restricted to each TLE span, as the data README prescribes.

Score: a detection matches a maneuver when its epoch is within ±12 h of ``start_utc``; one-to-one
greedy matching, closest pairs first (:func:`astroshield.validation.maneuvers.match_events`).
Precision, recall and F1 are also given at ±36 h.

Protocol (issue 21): every detector runs over a small grid of *global* settings (``GRID``; the
naive baseline over ``NAIVE_THRESHOLDS``). Leave-one-satellite-out: for each of the six folds the
setting with the best pooled F1 ±12 h on the other five satellites is chosen (ties: fewer
detections, then grid order) and only then applied to the sixth; the table pools those six test
scores. The same selection on all six satellites gives the "all-six" setting, which is what
:class:`DetectionConfig`'s defaults hold. Nothing is set per satellite or per regime.

Usage (repo root): ``.venv/bin/python benchmarks/maneuver_detection.py [--write-results]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from astroshield.astro.ccdm.maneuvers import DetectionConfig, detect_maneuvers
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.tle import iter_tles
from astroshield.validation.maneuvers import (
    MatchResult,
    load_truth_csv,
    match_events,
    naive_detections,
    pool_results,
)

# Run as a script: the repository root, for the shared results writer.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import RESULTS, cpu_model, replace_section

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT.parent / "shared" / "data" / "maneuvers"
TRUTH_CSV = DATA / "manoeuvres_utc.csv"
SECTION = "## Maneuver detection, leave-one-satellite-out (issue 21)"
OLD_SECTION = "## Manoeuvre detection (issue 9)"
SUPERSEDED = (
    '> Superseded by the section "Maneuver detection, leave-one-satellite-out (issue 21)" '
    "(six satellites, settings chosen leave-one-satellite-out); kept for the record."
)
SATELLITES = ("CryoSat-2", "Jason-2", "Sentinel-3A", "Haiyang-2A", "Fengyun-2F", "Fengyun-2E")
WINDOW = timedelta(hours=12)
WIDE_WINDOW = timedelta(hours=36)
MACHINE = "2-core python-svc"

# The searched settings of the detector (everything else is physical or numerical, see
# DetectionConfig). Kept small: every point runs the detector on all six histories.
GRID: dict[str, tuple[float | int, ...]] = {
    "threshold_sigma": (6.0, 8.0),
    "window": (61, 121),
    "hinge_sets": (8, 10, 12),
    "hinge_mask_sigma": (2.0, 3.0),
}
NAIVE_THRESHOLDS: tuple[float, ...] = (4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0)

Detect = Callable[[Sequence[ElementSet]], list[datetime]]

# Why the weak satellites miss (from the raw operator logs and the element histories; see the
# issue-21 report): fixed text, written once, printed with every run.
ANALYSIS = [
    "- Jason-2 (1,336 km, 66°, BSTAR fixed by the catalogue): 27 of its 97 logged rows are "
    "pairs of opposite cross-track burns 4-6 h apart (0.3-2.3 m/s each) whose net rotation "
    "of the orbit normal is a small part of either; the element sets show at most one "
    "inconsistent set, which the outlier screening removes. Its 2008-2012 along-track "
    "burns (4-5 mm/s, Δa ≈ 9 m, 30 sigma of its mean-motion scatter) are found, but the "
    "catalogue absorbs them over 4-6 daily sets starting up to a day after the burn, so the "
    "along-track timing of several lands 12-36 h off (found at ±36 h, not at ±12 h).",
    "- Haiyang-2A (970 km, sun-synchronous): single along-track burns of 3-13 mm/s "
    "(median 6 mm/s, Δa ≈ 12 m) against a consecutive-set scatter of 3.4 m in semi-major "
    "axis (more at the 2014 solar maximum); the catalogue fits them with BSTAR swinging "
    "negative over 3-5 sets, overshooting and settling back (a second, opposite step about "
    "6 days later). `settle_days` drops that settling step; it helped at 6 sigma but the "
    "selection preferred 8 sigma without it, where most of these burns are below the "
    "consecutive-set threshold (before the along-track test of changes 1 and 2 below).",
    "- Change 1 (session 6, Haiyang-2A's absorbed burns): a multi-set along-track test "
    "(`hinge.py`). A burn steps the mean motion, so the along-track position of the sets "
    "(mean longitude times a, each set's best-determined quantity) turns from one straight "
    "line onto another: two lines through the `hinge_sets` sets on each side of an interval, "
    "meeting at a trial burn time, and the t-statistic of the slope change (-3/2·n·Δa) "
    "against the window's own residual scatter, normalised by its sliding median and MAD "
    "like the jumps and held against the same `threshold_sigma`. On Haiyang-2A the logged "
    "burns give slope changes of 1-1.8 km/day (Δa 6-14 m) at t = 15-40, timed within 1-3 h "
    "of the log, where the consecutive-set jumps are 2-4 sigma. Drag bends the along-track "
    "curve everywhere (quiet-window t of +10 to +17 on all four LEO satellites), which the "
    "sliding median removes; the MAD is inflated by the burns themselves (every window "
    "holding a burn scores it). `hinge_sets` (8 or 12 sets, the catalogue absorbing a burn "
    "over 3-6 of them) replaced `settle_days` in the grid (never chosen in the previous run). "
    "Pooled LOSO 0.772 -> 0.782 (all-six defaults 0.787; Haiyang-2A 0.182 -> 0.442).",
    "- Change 2 (same session, Haiyang-2A's remaining misses and Jason-2's false breaks): "
    "Haiyang-2A's logged burns kept t = 15-40 but scored 2-4 robust sigmas, because with a "
    "burn every 6-8 weeks and every window holding one scoring it, about half the intervals "
    "are disturbed and the MAD doubles. The noise of the statistic is now taken again from "
    "the intervals away from breaks that stand `hinge_mask_sigma` (searched: 2 or 3) out of "
    "the first pass. That also exposes Jason-2's small along-track breaks with no logged "
    "row (Δa of -1 to -4 m, all orbit-lowering, sharp, at 1,336 km where the catalogue fixes "
    "BSTAR): a break found by this test alone must raise the orbit (`hinge_raise_only`), "
    "because drag and the catalogue's drag re-fits lower it while orbit-keeping thrust "
    "raises it. Large lowering burns are still found by the consecutive-set test. Tried and "
    "dropped (no pooled gain): a quadratic drag term in the hinge fit (collinear with the "
    "hinge at the window centre, halves the power), re-timing the pair-wise detections by "
    "the hinge (worse on CryoSat-2 and the GEO pair), a Δa-step consistency gate and a "
    "hinge-versus-parabola sharpness gate (Jason-2's false breaks pass both). The test runs "
    "only where straight drift lines time a burn within the 1 h floor (the criterion of the "
    "eccentricity-phase timing, faster than ~5 rev/day): at GEO the periodic relative motion "
    "and the resonant longitude acceleration bend the along-track curve over the window "
    "(a generated quiet GEO history gave a false break); it added nothing on the GEO pair.",
    "- Fengyun-2E (inspected at the issue-9 settings, 6 sigma): its false alarms are late "
    "timings of logged burns (4, 16-70 h late), same-sign follow-up steps 1-3 days after a "
    "burn (4), small untimed semi-major-axis steps in 2015-2016 (6) and large steps with no "
    "logged row nearby (3).",
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One setting on one satellite: detection count and matchings at ±12 h and ±36 h."""

    detected: int
    strict: MatchResult
    wide: MatchResult


@dataclass(frozen=True, slots=True)
class Selection:
    """The setting chosen on ``trained`` satellites and its score on ``scored`` ones."""

    setting: str
    strict: MatchResult
    wide: MatchResult
    detected: int


def load_history(satellite: str) -> list[ElementSet]:
    path = DATA / "processed_files" / f"{satellite}.tle"
    with path.open(encoding="ascii") as handle:
        return sorted((tle.elements for tle in iter_tles(handle)), key=lambda item: item.epoch)


def truth_in_span(satellite: str, elements: Sequence[ElementSet]) -> list[datetime]:
    first, last = elements[0].epoch, elements[-1].epoch
    return [t for t in load_truth_csv(TRUTH_CSV, satellite) if first <= t <= last]


def outcome(epochs: list[datetime], truth: list[datetime]) -> Outcome:
    return Outcome(
        detected=len(epochs),
        strict=match_events(epochs, truth, WINDOW),
        wide=match_events(epochs, truth, WIDE_WINDOW),
    )


def detector_settings() -> dict[str, Detect]:
    """Every grid point of the detector, named by its searched values."""
    keys = list(GRID)
    settings: dict[str, Detect] = {}
    for values in itertools.product(*(GRID[key] for key in keys)):
        chosen = dict(zip(keys, values, strict=True))
        config = replace(DetectionConfig(), **chosen)  # type: ignore[arg-type]
        name = ", ".join(f"{key}={value}" for key, value in chosen.items())
        settings[name] = _detector(config)
    return settings


def _detector(config: DetectionConfig) -> Detect:
    def run(elements: Sequence[ElementSet]) -> list[datetime]:
        return [d.epoch for d in detect_maneuvers(elements, config=config)]

    return run


def naive_settings() -> dict[str, Detect]:
    def at(threshold: float) -> Detect:
        return lambda elements: naive_detections(elements, threshold)

    return {f"threshold={value}": at(value) for value in NAIVE_THRESHOLDS}


def run_grid(
    label: str,
    settings: dict[str, Detect],
    data: dict[str, tuple[list[ElementSet], list[datetime]]],
    progress: Progress,
) -> tuple[dict[str, dict[str, Outcome]], float]:
    """Outcomes by setting and satellite, and the wall time of the whole grid."""
    task = progress.add_task(label, total=len(settings) * len(data))
    start = time.perf_counter()
    table: dict[str, dict[str, Outcome]] = {}
    for name, detect in settings.items():
        table[name] = {}
        for satellite, (elements, truth) in data.items():
            progress.update(task, description=f"{label}: {name} on {satellite}")
            table[name][satellite] = outcome(detect(elements), truth)
            progress.advance(task)
    return table, time.perf_counter() - start


def select(grid: dict[str, dict[str, Outcome]], trained: Sequence[str]) -> str:
    """Setting with the best pooled F1 ±12 h on ``trained`` (ties: fewer detections, order)."""

    def key(item: tuple[int, str]) -> tuple[float, int, int]:
        index, name = item
        pooled = pool_results(grid[name][s].strict for s in trained)
        detected = sum(grid[name][s].detected for s in trained)
        return (pooled.f1, -detected, -index)

    return max(enumerate(grid), key=key)[1]


def loso(grid: dict[str, dict[str, Outcome]]) -> dict[str, str]:
    """For each satellite, the setting chosen on the other five."""
    return {held: select(grid, [s for s in SATELLITES if s != held]) for held in SATELLITES}


def score_rows(
    grid: dict[str, dict[str, Outcome]], chosen: dict[str, str]
) -> list[tuple[str, Outcome]]:
    """Per-satellite outcomes with each satellite's chosen setting, then the pooled row."""
    rows = [(s, grid[chosen[s]][s]) for s in SATELLITES]
    pooled = Outcome(
        detected=sum(o.detected for _, o in rows),
        strict=pool_results(o.strict for _, o in rows),
        wide=pool_results(o.wide for _, o in rows),
    )
    return [*rows, ("pooled", pooled)]


def cells(name: str, truth: int, result: Outcome) -> list[str]:
    s, w = result.strict, result.wide
    return [
        name,
        str(truth),
        str(result.detected),
        f"{s.precision:.3f}",
        f"{s.recall:.3f}",
        f"{s.f1:.3f}",
        f"{w.precision:.3f}",
        f"{w.recall:.3f}",
        f"{w.f1:.3f}",
    ]


COLUMNS = ("satellite", "manoeuvres", "detections", "P ±12 h", "R ±12 h", "F1 ±12 h")
COLUMNS += ("P ±36 h", "R ±36 h", "F1 ±36 h")


def results_blocks(
    grids: dict[str, dict[str, dict[str, Outcome]]], truth_counts: dict[str, int]
) -> list[tuple[str, list[list[str]]]]:
    """Titled tables: LOSO and all-six, for the detector and the naive baseline."""
    blocks = []
    for label, grid in grids.items():
        folds = loso(grid)
        everywhere = select(grid, SATELLITES)
        for protocol, chosen in (
            ("leave-one-satellite-out", folds),
            (f"all-six setting ({everywhere})", dict.fromkeys(SATELLITES, everywhere)),
        ):
            rows = [
                cells(name, truth_counts.get(name, sum(truth_counts.values())), result)
                for name, result in score_rows(grid, chosen)
            ]
            blocks.append((f"{label}, {protocol}", rows))
    return blocks


def stability_lines(grids: dict[str, dict[str, dict[str, Outcome]]]) -> list[str]:
    """For each detector, the setting each fold chose (LOSO stability of the searched values)."""
    lines = []
    for label, grid in grids.items():
        folds = loso(grid)
        chosen = "; ".join(f"without {held}: {name}" for held, name in folds.items())
        lines.append(f"- {label}, setting chosen per fold: {chosen}")
    return lines


def markdown_table(rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def write_results(
    blocks: list[tuple[str, list[list[str]]]], notes: list[str], seconds: float
) -> None:
    lines = [
        SECTION,
        "",
        "Command (repo root): `.venv/bin/python benchmarks/maneuver_detection.py --write-results`",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; whole run {seconds / 60.0:.1f} min",
        f"- Machine: {MACHINE} ({os.cpu_count()} CPUs, {cpu_model()}, shared with other "
        f"jobs); Python {platform.python_version()}",
        "- Data: ../shared/data/maneuvers, six satellites (Shorten et al. 2023 benchmark, "
        "arXiv:2212.08662); reference = `start_utc` of `manoeuvres_utc.csv` inside each TLE span",
        "- Score: epoch within ±12 h (and ±36 h) of `start_utc`, greedy closest-first "
        "one-to-one matching; pooled = counts summed over the six satellites",
        f"- Searched detector settings: `{GRID}`; naive thresholds: `{NAIVE_THRESHOLDS}`",
        "",
    ]
    for title, rows in blocks:
        lines += [f"**{title}**", "", *markdown_table(rows), ""]
    lines += [*notes, ""]
    text = RESULTS.read_text(encoding="utf-8")
    old = text.find(OLD_SECTION)
    if old >= 0 and SUPERSEDED not in text:
        cut = old + len(OLD_SECTION)
        RESULTS.write_text(text[:cut] + "\n\n" + SUPERSEDED + text[cut:], encoding="utf-8")
    replace_section(SECTION, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    console = Console(width=160)
    start = time.perf_counter()
    data = {}
    for satellite in SATELLITES:
        elements = load_history(satellite)
        data[satellite] = (elements, truth_in_span(satellite, elements))
    truth_counts = {s: len(t) for s, (_, t) in data.items()}
    with Progress(console=console, transient=True) as progress:
        naive, naive_seconds = run_grid("naive", naive_settings(), data, progress)
        detector, detector_seconds = run_grid("detector", detector_settings(), data, progress)
    grids = {"detector": detector, "naive baseline": naive}
    blocks = results_blocks(grids, truth_counts)
    for title, rows in blocks:
        table = Table(title=title)
        for column in COLUMNS:
            table.add_column(column, justify="left" if column == "satellite" else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    notes = stability_lines(grids)
    ours = score_rows(detector, loso(detector))[-1][1].strict.f1
    baseline = score_rows(naive, loso(naive))[-1][1].strict.f1
    everywhere = select(detector, SATELLITES)
    defaults = DetectionConfig()
    matches_defaults = all(
        getattr(defaults, part.split("=")[0]) == float(part.split("=")[1])
        for part in everywhere.split(", ")
    )
    notes += [
        f"- Pooled LOSO F1 ±12 h: detector {ours:.3f}, naive baseline {baseline:.3f} "
        f"(ratio {ours / baseline:.2f})."
        if baseline
        else "- Naive baseline found nothing.",
        f"- Library defaults (`DetectionConfig`) "
        f"{'equal' if matches_defaults else 'DIFFER FROM'} the all-six selection ({everywhere}).",
        f"- Grid time: detector {detector_seconds:.0f} s for {len(detector)} settings x 6 "
        f"satellites; naive {naive_seconds:.1f} s.",
    ]
    notes += ANALYSIS
    for note in notes:
        console.print(note, markup=False)
    if args.write_results:
        write_results(blocks, notes, time.perf_counter() - start)
        console.print(f"wrote {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
