"""3-D Pc (Hall 2021) against its two-body Monte Carlo referee, with timings (issue 21).

Usage (from the repo root)::

    .venv/bin/python benchmarks/pc_3d.py [--samples 10000000] [--seed 2026]

For every generated encounter of :mod:`astroshield.astro.conjunction.pc.encounters` (nonlinear
and linear) and CARA's ``testSimilarTo2D`` case it prints, as a Markdown table for
``benchmarks/RESULTS.md``: the 2-D Pc, the 3-D Pc and its seconds per evaluation (best of 3),
the Monte Carlo Pc with its 99 % interval, the interval's relative width, whether the 3-D value
is inside, and the Monte Carlo seconds for ``--samples`` (one run). The baseline of the ratio
column is the 3-D evaluation of the same case in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from astroshield.astro.conjunction.pc import MU_EARTH_KM3_S2, pc_2d, pc_3d, pc_monte_carlo
from astroshield.astro.conjunction.pc.encounters import (
    LINEAR_SPECS,
    NONLINEAR_SPECS,
    Encounter,
    build_encounter,
)

CARA = Path(__file__).resolve().parents[1] / "tests" / "data" / "pc" / "cara_pc3d_hall_cases.json"


def _best_of(fn: Callable[[], Any], runs: int) -> tuple[Any, float]:
    best = float("inf")
    out: Any = None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def _cara_case() -> tuple[Encounter, float]:
    c = json.loads(CARA.read_text())["similar_to_2d"]
    enc = Encounter(
        "cara_similar_to_2d (m)",
        np.asarray(c["r1_m"]),
        np.asarray(c["v1_m_s"]),
        np.asarray(c["cov1"]),
        np.asarray(c["r2_m"]),
        np.asarray(c["v2_m_s"]),
        np.asarray(c["cov2"]),
        float(c["hbr_m"]),
        (-1.0, 1.0),
    )
    return enc, MU_EARTH_KM3_S2 * 1e9


def _row(
    e: Encounter, mu: float, window: tuple[float, float] | None, args: argparse.Namespace
) -> str:
    states = (e.r1, e.v1, e.cov1, e.r2, e.v2, e.cov2, e.hbr)
    p2 = pc_2d(e.r1, e.v1, e.cov1[:3, :3], e.r2, e.v2, e.cov2[:3, :3], e.hbr)
    p3, t3 = _best_of(lambda: pc_3d(*states, mu=mu, window=window), 3)
    mc, tm = _best_of(
        lambda: pc_monte_carlo(
            *states, args.samples, args.seed, mu=mu, window=p3.window, confidence=0.99
        ),
        1,
    )
    width = (mc.ci_high - mc.ci_low) / mc.pc if mc.pc > 0 else float("inf")
    inside = "yes" if mc.ci_low <= p3.value <= mc.ci_high else "**no**"
    return (
        f"| {e.name} | {p2:.5g} | {p3.value:.5g} | {t3:.2f} | {mc.pc:.5g} "
        f"[{mc.ci_low:.5g}, {mc.ci_high:.5g}] | {100 * width:.2f} % | {inside} | "
        f"{p3.value / mc.pc - 1:+.2%} | {tm:.1f} | {tm / t3:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    print(f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"- machine: nproc={os.cpu_count()}, {platform.processor() or platform.machine()}")
    print(f"- 1-min load average at start: {os.getloadavg()[0]:.2f}")
    print(f"- Monte Carlo samples: {args.samples:,}, seed {args.seed}, 99 % Wilson interval")
    print()
    print(
        "| case | 2-D Pc | 3-D Pc | 3-D s/eval | MC Pc [99 % interval] | width | 3-D inside |"
        " 3-D vs MC | MC s | MC / 3-D time |"
    )
    print("| --- | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |")
    for spec in (*NONLINEAR_SPECS, *LINEAR_SPECS):
        e = build_encounter(spec)
        window = e.window if spec in NONLINEAR_SPECS else None
        print(_row(e, MU_EARTH_KM3_S2, window, args), flush=True)
    cara, mu_m = _cara_case()
    print(_row(cara, mu_m, None, args), flush=True)


if __name__ == "__main__":
    main()
