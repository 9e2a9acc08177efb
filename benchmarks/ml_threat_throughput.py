"""ThreatDetectorNN inference throughput: batched onnxruntime on one thread (issue 18).

Usage (from the repo root)::

    .venv/bin/python benchmarks/ml_threat_throughput.py [--model M.onnx] [--no-record]

Runs the shipped (or given) ONNX model through :class:`astroshield.ml.threat_detector.
ThreatDetector` (onnxruntime, ``intra_op_num_threads=1``) on batches of feature vectors
drawn from the model's own training range (a fixed seed), and reports samples per second:
the median over ``--repeats`` timed runs of each batch size, after a warm-up run. Unless
``--no-record``, replaces the section ``## ML: ThreatDetectorNN throughput (issue 18)`` of
``benchmarks/RESULTS.md``. Target: >= 100,000 samples/s batched on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from astroshield.ml.threat_detector import FEATURE_NAMES, ThreatDetector

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import cpu_model, replace_section

HEADING = "## ML: ThreatDetectorNN throughput (issue 18)"
TARGET = 100_000.0


def measure(detector: ThreatDetector, batch: int, repeats: int, seed: int = 0) -> float:
    """Median samples/s of ``detector.predict`` on one batch of ``batch`` feature vectors."""
    features = np.random.default_rng(seed).normal(size=(batch, len(FEATURE_NAMES)))
    features = features.astype(np.float32)
    detector.predict(features)  # warm-up
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        probabilities = detector.predict(features)
        rates.append(batch / (time.perf_counter() - started))
        if probabilities.shape != (batch, 5):
            raise RuntimeError(f"unexpected output shape {probabilities.shape}")
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    detector = ThreatDetector.load(args.model)
    load = os.getloadavg()
    rows = [(batch, measure(detector, batch, args.repeats)) for batch in (1, 256, 4096, 65536)]
    table = Table(title="ThreatDetectorNN ONNX throughput (1 thread)")
    table.add_column("batch", justify="right")
    table.add_column("samples/s", justify="right")
    for batch, rate in rows:
        table.add_row(f"{batch:,}", f"{rate:,.0f}")
    Console().print(table)
    best = max(rate for _, rate in rows)
    if args.no_record:
        return
    lines = [
        HEADING,
        "",
        "Command (repo root): `.venv/bin/python benchmarks/ml_threat_throughput.py`",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; machine: {cpu_model()} "
        f"({os.cpu_count()} CPUs visible, shared with other jobs); load average before: "
        f"{' '.join(f'{v:.2f}' for v in load)}",
        f"- Model: `{detector.path.name}` (sha256 `{detector.metadata['sha256'][:16]}…`, "
        f"{detector.metadata['parameters']} parameters); onnxruntime CPU, "
        "intra_op_num_threads=1, inter_op_num_threads=1; median of "
        f"{args.repeats} runs after a warm-up, `ThreatDetector.predict` (input checks "
        "included).",
        "",
        "| batch | samples/s |",
        "| ---: | ---: |",
        *[f"| {batch:,} | {rate:,.0f} |" for batch, rate in rows],
        "",
        f"- Target >= {TARGET:,.0f} samples/s batched on one core: "
        f"{'met' if best >= TARGET else 'MISSED'} (best {best:,.0f}).",
    ]
    replace_section(HEADING, "\n".join(lines) + "\n")
    print(f"wrote the section {HEADING!r}")


if __name__ == "__main__":
    main()
