"""What the window-edge check (issue 21) costs a screening run.

Screens the crowded LEO subset of the shared catalog used by tests/astro/test_screening.py
(``crowded_subset``) over 6 h at 5 km with one worker, with the edge check and with it
patched out, interleaved, and reports wall times and their ratio; then the time spent inside
the edge check itself on a larger subset (whole-run times on a shared machine vary more
than the check costs).

Usage (repo root): ``PYTHONPATH=. .venv/bin/python benchmarks/screening_edges.py``
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.astro.test_screening import crowded_subset

from astroshield.astro.conjunction.screening import algorithm, screen_catalog

START = datetime(2024, 11, 1, tzinfo=UTC)
WINDOW = timedelta(hours=6)
THRESHOLD_KM = 5.0


def main() -> None:
    real = algorithm._window_edge_events
    objects = crowded_subset(500)
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(3):
        for mode in times:
            algorithm._window_edge_events = real if mode == "with" else (lambda *_: [])  # type: ignore[assignment]
            began = time.perf_counter()
            screen_catalog(objects, START, WINDOW, THRESHOLD_KM, workers=1)
            times[mode].append(time.perf_counter() - began)
    for mode, values in times.items():
        print(f"500 objects, {mode} edge check: median {statistics.median(values):.2f} s", values)
    ratio = statistics.median(times["with"]) / statistics.median(times["without"])
    print(f"ratio with/without: {ratio:.3f}")

    spent: list[float] = []

    def timed(*args: Any) -> Any:
        began = time.perf_counter()
        found = real(*args)
        spent.append(time.perf_counter() - began)
        return found

    algorithm._window_edge_events = timed  # type: ignore[assignment]
    began = time.perf_counter()
    screen_catalog(crowded_subset(3000), START, WINDOW, THRESHOLD_KM, workers=1)
    total = time.perf_counter() - began
    print(
        f"3000 objects: run {total:.2f} s, edge check {sum(spent) * 1e3:.1f} ms "
        f"over {len(spent)} work units ({sum(spent) / total:.2%} of the run)"
    )


if __name__ == "__main__":
    main()
