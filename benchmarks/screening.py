"""Catalog conjunction screening throughput on the shared CelesTrak catalog.

Screens all 26,834 objects of ../shared/data/catalog/celestrak_on_orbit_20241101.csv against
each other over one day from 2024-11-01T00:00Z at 5 km with
``astroshield.astro.conjunction.screening.screen_catalog`` and reports wall time, events found and
object-days per core-second = objects x days / (wall seconds x worker processes).

Usage (from the repo root):
``.venv/bin/python benchmarks/screening.py [--workers 2] [--write-results] [--csv out.csv]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import scipy
import sgp4
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from astroshield.astro.conjunction.screening import (
    ScreeningResult,
    screen_catalog,
    write_events_csv,
)
from astroshield.astro.formats.omm import read_omm_file

# Run as a script: the repository root, for the shared results writer.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import RESULTS, cpu_model, replace_section

REPO_ROOT = Path(__file__).resolve().parents[1]
CATALOG_CSV = REPO_ROOT.parent / "shared" / "data" / "catalog" / "celestrak_on_orbit_20241101.csv"
SECTION = "## Catalog screening (issue 8)"
START = datetime(2024, 11, 1, tzinfo=UTC)
DURATION = timedelta(days=1)
THRESHOLD_KM = 5.0


def run(workers: int, console: Console) -> tuple[ScreeningResult, float, float, float]:
    load_start = time.perf_counter()
    elements = read_omm_file(CATALOG_CSV)
    load_s = time.perf_counter() - load_start
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("screening (work units)", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        started = time.perf_counter()
        cpu_before = _cpu_seconds()
        result = screen_catalog(
            elements, START, DURATION, THRESHOLD_KM, workers=workers, progress=progress
        )
        wall_s = time.perf_counter() - started
        cpu_s = _cpu_seconds() - cpu_before
    return result, wall_s, load_s, cpu_s


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_one_vs_all(primary: str) -> tuple[ScreeningResult, float]:
    """The primary against the catalog (the shell filter drops most objects first)."""
    elements = read_omm_file(CATALOG_CSV)
    started = time.perf_counter()
    result = screen_catalog(elements, START, DURATION, THRESHOLD_KM, primary=primary)
    return result, time.perf_counter() - started


def section_text(
    result: ScreeningResult,
    wall_s: float,
    load_s: float,
    cpu_s: float,
    workers: int,
    load_avg: float,
    one_vs_all: tuple[str, ScreeningResult, float],
) -> str:
    stats = result.stats
    rate = stats.objects * DURATION.total_seconds() / 86400.0 / (wall_s * stats.workers)
    cpu_rate = stats.objects * DURATION.total_seconds() / 86400.0 / cpu_s
    primary, single, single_s = one_vs_all
    top = sorted(result.events, key=lambda event: event.miss_distance_km)[:10]
    skipped = ", ".join(f"{item.catalog_number} (code {item.code})" for item in result.skipped)
    lines = [
        SECTION,
        "",
        f"Command (repo root): `.venv/bin/python benchmarks/screening.py --workers {workers}"
        " --write-results`",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: nproc={os.cpu_count()}, CPU: {cpu_model()} (shared with other jobs)",
        f"- 1-min load average just before the run: {load_avg:.2f}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}"
        f", sgp4 {sgp4.__version__}; {stats.workers} worker processes, {stats.work_units}"
        " work units (1 h slabs), knots 120 s, sub-intervals 30 s",
        f"- Input: {stats.objects:,} objects, {START:%Y-%m-%dT%H:%MZ} + 1 day, all-vs-all,"
        f" threshold {THRESHOLD_KM} km; catalog load {load_s:.2f} s (not in the wall time)",
        "",
        "| wall [s] | CPU [s] | events | object-days / core-second (wall) |"
        " object-days / CPU-second |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {wall_s:.1f} | {cpu_s:.1f} | {stats.events:,} | {rate:.0f} | {cpu_rate:.0f} |",
        "",
        "CPU is user + system time of the parent and the worker processes (getrusage), so it"
        " does not count the time the other jobs on the machine took from us.",
        "",
        "| pairs | shell-overlapping pairs | candidate pairs | candidate intervals |"
        " Hermite minima | SGP4 refinements |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {stats.pairs_considered:,} | {stats.pairs_after_shell_filter:,} |"
        f" {stats.candidate_pairs:,} | {stats.candidate_intervals:,} |"
        f" {stats.hermite_minima:,} | {stats.refined:,} |",
        "",
        f"One-vs-all, primary {primary} vs the catalog, same day and threshold:"
        f" {single_s:.1f} s wall, {single.stats.pairs_after_shell_filter:,} of"
        f" {single.stats.pairs_considered:,} objects left by the shell filter,"
        f" {len(single.events)} events.",
        "",
        f"Skipped (SGP4 failure in the window): {len(result.skipped)}: {skipped or 'none'}.",
        "",
        "Ten smallest miss distances (no SOCRATES file is available here to compare with):",
        "",
        "| object1 | object2 | TCA (UTC) | miss [km] | rel. speed [km/s] |",
        "| ---: | ---: | --- | ---: | ---: |",
    ]
    for event in top:
        lines.append(
            f"| {event.object1} | {event.object2} | {event.tca:%Y-%m-%dT%H:%M:%S.%f}"[:-3]
            + f"Z | {event.miss_distance_km:.4f} | {event.relative_speed_km_s:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--csv", type=Path, help="also write the events as CSV")
    parser.add_argument("--primary", default="25544", help="primary of the one-vs-all run")
    args = parser.parse_args(argv)
    console = Console()
    load_avg = os.getloadavg()[0]
    result, wall_s, load_s, cpu_s = run(args.workers, console)
    single, single_s = run_one_vs_all(args.primary)
    stats = result.stats
    rate = stats.objects * DURATION.total_seconds() / 86400.0 / (wall_s * stats.workers)

    table = Table(title="Catalog screening, 1 day, 5 km, all-vs-all")
    columns = ("objects", "workers", "wall [s]", "CPU [s]", "events", "object-days / core-s")
    for column in (*columns, "skipped"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{stats.objects:,}",
        str(stats.workers),
        f"{wall_s:.1f}",
        f"{cpu_s:.1f}",
        f"{stats.events:,}",
        f"{rate:.0f}",
        str(len(result.skipped)),
    )
    console.print(table)
    console.print(stats)
    console.print(f"load average before the run: {load_avg:.2f}")
    console.print(
        f"one-vs-all {args.primary}: {single_s:.1f} s, {len(single.events)} events, "
        f"{single.stats.pairs_after_shell_filter} objects after the shell filter"
    )
    if args.csv:
        write_events_csv(result.events, args.csv)
    if args.write_results:
        text = section_text(
            result, wall_s, load_s, cpu_s, args.workers, load_avg, (args.primary, single, single_s)
        )
        replace_section(SECTION, text)
        console.print(f"wrote {SECTION!r} in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
