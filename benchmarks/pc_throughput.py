"""2-D collision-probability throughput: vectorised vs scalar (issue 8).

Usage (from the repo root)::

    .venv/bin/python benchmarks/pc_throughput.py [--events 200000] [--no-record]

Prints a rich table and, unless ``--no-record``, writes/updates the section
``## Collision probability throughput (issue 8)`` of ``benchmarks/RESULTS.md`` (other sections
are left byte-for-byte untouched).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from astroshield.astro.conjunction.pc import (
    pc_2d,
    pc_2d_batch,
    pc_encounter_plane,
    pc_encounter_plane_batch,
)

# Run as a script: the repository root, for the shared results writer.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import cpu_model, replace_section

HEADING = "## Collision probability throughput (issue 8)"


def population(n: int, seed: int, min_ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encounter-plane events: HBR 5-50 m, sigmas 3 m-10 km (km units), misses to ~3 sigma."""
    rng = np.random.default_rng(seed)
    hbr = rng.uniform(0.005, 0.05, n)
    s1 = 10 ** rng.uniform(-2.5, 1.0, n)
    s2 = s1 * 10 ** rng.uniform(-3.0, 0.0, n)
    s2 = np.maximum(s2, min_ratio * hbr)
    s1 = np.maximum(s1, s2)
    ang = rng.uniform(0, math.pi, n)
    ca, sa = np.cos(ang), np.sin(ang)
    rot = np.stack([np.stack([ca, -sa], 1), np.stack([sa, ca], 1)], 1)
    cov = np.einsum("nij,nj,nkj->nik", rot, np.stack([s1**2, s2**2], 1), rot)
    miss = rng.normal(size=(n, 2)) * s1[:, None] * rng.uniform(0, 3, (n, 1))
    return miss, cov, hbr


def inertial_population(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    r1 = rng.normal(size=(n, 3)) * 7000.0
    v1 = rng.normal(size=(n, 3)) * 5.0
    r2 = r1 + rng.normal(size=(n, 3)) * 0.5
    v2 = rng.normal(size=(n, 3)) * 5.0
    a = rng.normal(size=(n, 3, 3)) * 0.3
    c1 = np.einsum("nij,nkj->nik", a, a) + 0.01 * np.eye(3)
    b = rng.normal(size=(n, 3, 3)) * 0.3
    c2 = np.einsum("nij,nkj->nik", b, b) + 0.01 * np.eye(3)
    return r1, v1, c1, r2, v2, c2


def best_rate(fn: Callable[[], object], count: int, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return count / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--scalar-events", type=int, default=2_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--order", type=int, default=48)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    n, ns = args.events, args.scalar_events
    load = os.getloadavg()[0]

    rows: list[tuple[str, str, str, str]] = []

    # Typical screening population: minor sigma >= 0.25 HBR, fixed rule only.
    miss, cov, hbr = population(n, 1, 0.3)
    rate = best_rate(
        lambda: pc_encounter_plane_batch(miss, cov, hbr, order=args.order), n, args.repeats
    )
    ref = np.array([pc_encounter_plane(miss[i], cov[i], hbr[i]) for i in range(ns)])
    got = pc_encounter_plane_batch(miss[:ns], cov[:ns], hbr[:ns], order=args.order)
    ok = ref > 1e-250
    err = float(np.max(np.abs(got[ok] / ref[ok] - 1.0)))
    rows.append(
        (
            "vectorised, encounter plane (sigma_minor >= 0.3 HBR)",
            f"{n:,}",
            f"{rate:,.0f}",
            f"{err:.1e}",
        )
    )

    # Mixed population incl. very thin covariances (sigma_minor down to 1e-3 sigma_major).
    miss_m, cov_m, hbr_m = population(n // 4, 2, 0.0)
    ratio = np.sqrt(np.linalg.eigvalsh(cov_m)[:, 0]) / hbr_m
    four_panel = float(np.mean((ratio >= 0.03) & (ratio < 0.25)))
    graded = float(np.mean(ratio < 0.03))
    rate_m = best_rate(
        lambda: pc_encounter_plane_batch(miss_m, cov_m, hbr_m, order=args.order), n // 4, 1
    )
    rows.append(
        (
            f"vectorised, mixed ({four_panel:.0%} 4-panel, {graded:.0%} 16-panel graded)",
            f"{n // 4:,}",
            f"{rate_m:,.0f}",
            "-",
        )
    )

    states = inertial_population(n, 3)
    rate_i = best_rate(lambda: pc_2d_batch(*states, 0.02, order=args.order), n, args.repeats)
    rows.append(("vectorised, inertial states -> pc_2d_batch", f"{n:,}", f"{rate_i:,.0f}", "-"))

    def scalar_plane() -> None:
        for i in range(ns):
            pc_encounter_plane(miss[i], cov[i], hbr[i])

    def scalar_chan() -> None:
        for i in range(ns):
            pc_encounter_plane(miss[i], cov[i], hbr[i], "chan")

    def scalar_inertial() -> None:
        r1, v1, c1, r2, v2, c2 = states
        for i in range(ns):
            pc_2d(r1[i], v1[i], c1[i], r2[i], v2[i], c2[i], 0.02)

    rows.append(
        (
            "scalar Foster (adaptive quad), encounter plane",
            f"{ns:,}",
            f"{best_rate(scalar_plane, ns, 1):,.0f}",
            "reference",
        )
    )
    rows.append(
        (
            "scalar Chan series, encounter plane",
            f"{ns:,}",
            f"{best_rate(scalar_chan, ns, 1):,.0f}",
            "-",
        )
    )
    rows.append(
        (
            "scalar pc_2d Foster, inertial states",
            f"{ns:,}",
            f"{best_rate(scalar_inertial, ns, 1):,.0f}",
            "-",
        )
    )

    table = Table(title=f"2-D Pc throughput (Gauss-Legendre order {args.order})")
    for col in ("variant", "events", "evaluations / s", "max rel. err vs scalar"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)

    if args.no_record:
        return
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = ".venv/bin/python " + shlex.join(["benchmarks/pc_throughput.py", *sys.argv[1:]])
    lines = [
        HEADING,
        "",
        f"- command: `{cmd}`",
        f"- date: {now}",
        f"- machine: nproc={len(os.sched_getaffinity(0))}, CPU: {cpu_model()} (shared machine)",
        f"- 1-min load average at start: {load:.2f} (other jobs share the 2 cores)",
        f"- python {platform.python_version()}, numpy {np.__version__}; single process",
        f"- best of {args.repeats} runs for vectorised rows, 1 run for scalar rows",
        "",
        "| variant | events | evaluations / s | max rel. err vs scalar |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
    ]
    replace_section(HEADING, "\n".join(lines))


if __name__ == "__main__":
    main()
