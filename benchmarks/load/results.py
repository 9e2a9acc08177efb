"""From the locust process's record of every timed request to per-endpoint figures, the
step verdicts (saturation, SLO), the markdown tables and the PNG plots."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from benchmarks.load.sampler import Usage
from benchmarks.load.scenario import ENDPOINTS, WS_CONNECT, WS_SAMPLES
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SLO_READ_P99_MS = 200.0
MAX_ERROR_RATE = 0.01
MIN_ACHIEVED = 0.90

# (time, type, name, ms, ok, error, live subscribers of the batch's spacecraft)
Record = tuple[float, str, str, float, bool, str, int]


def read_records(path: Path) -> list[Record]:
    return [tuple(row) for row in json.loads(path.read_text(encoding="utf-8"))]  # type: ignore[misc]


@dataclass(frozen=True)
class Figures:
    """One endpoint (or a group of them) over the measuring window."""

    label: str
    offered_rps: float | None
    count: int
    failures: int
    seconds: float
    p50: float
    p95: float
    p99: float
    errors: tuple[str, ...] = ()

    @property
    def achieved_rps(self) -> float:
        return (self.count - self.failures) / self.seconds

    @property
    def error_rate(self) -> float:
        return self.failures / self.count if self.count else 0.0


def _figures(label: str, rows: Sequence[Record], seconds: float, offered: float | None) -> Figures:
    times = np.asarray([row[3] for row in rows if row[4]], dtype=float)
    failed = [row for row in rows if not row[4]]
    p50, p95, p99 = np.percentile(times, [50, 95, 99]) if times.size else (np.nan,) * 3
    errors = tuple(sorted({row[5] for row in failed}))[:3]
    return Figures(
        label, offered, len(rows), len(failed), seconds, float(p50), float(p95), float(p99), errors
    )


@dataclass
class Step:
    replicas: int
    multiplier: float
    offered_total: float
    endpoints: list[Figures]
    reads: Figures
    writes: Figures
    http: Figures
    ws_connect: Figures
    ws_samples: Figures
    ws_expected: int  # samples messages the subscribers should have had
    usage: dict[str, Usage] = field(default_factory=dict)
    load: float = 0.0  # the machine's 1-min load average at the end of the step

    @property
    def reasons(self) -> list[str]:
        """Why this step is past saturation (empty: it is not)."""
        found = []
        if self.reads.p99 > SLO_READ_P99_MS:
            found.append(f"reads p99 {self.reads.p99:.0f} ms > {SLO_READ_P99_MS:.0f}")
        if self.http.error_rate > MAX_ERROR_RATE:
            found.append(f"errors {100 * self.http.error_rate:.1f} % > 1 %")
        if self.http.achieved_rps < MIN_ACHIEVED * self.offered_total:
            found.append(
                f"achieved {self.http.achieved_rps:.1f} < 90 % of {self.offered_total:.1f} rps"
            )
        return found

    @property
    def slo_met(self) -> bool:
        return self.reads.p99 < SLO_READ_P99_MS and self.reads.error_rate <= MAX_ERROR_RATE


def step_figures(
    records: Sequence[Record], replicas: int, multiplier: float, start: float, end: float
) -> Step:
    seconds = end - start
    window = [row for row in records if start <= row[0] <= end]
    by_name: dict[tuple[str, str], list[Record]] = {}
    for row in window:
        by_name.setdefault((row[1], row[2]), []).append(row)
    endpoints = [
        _figures(
            f"{e.method} {e.name}",
            by_name.get((e.method, e.name), []),
            seconds,
            e.offered_rps(multiplier),
        )
        for e in ENDPOINTS
    ]
    reads = [r for e in ENDPOINTS if e.read for r in by_name.get((e.method, e.name), [])]
    writes = [r for e in ENDPOINTS if not e.read for r in by_name.get((e.method, e.name), [])]
    ingest = next(e for e in ENDPOINTS if e.key == "ingest")
    expected = (
        sum(row[6] for row in by_name.get((ingest.method, ingest.name), []) if row[4]) * 3
    )  # one samples message per parameter of the batch
    return Step(
        replicas=replicas,
        multiplier=multiplier,
        offered_total=sum(e.offered_rps(multiplier) for e in ENDPOINTS),
        endpoints=endpoints,
        reads=_figures("reads", reads, seconds, None),
        writes=_figures("writes", writes, seconds, None),
        http=_figures("all HTTP", reads + writes, seconds, None),
        # The subscribers connect once, at the start, before the window: all of the run.
        ws_connect=_figures(
            " ".join(WS_CONNECT), [r for r in records if (r[1], r[2]) == WS_CONNECT], seconds, None
        ),
        ws_samples=_figures(" ".join(WS_SAMPLES), by_name.get(WS_SAMPLES, []), seconds, None),
        ws_expected=expected,
    )


def _ms(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def endpoint_table(step: Step) -> list[str]:
    lines = [
        "| endpoint | offered rps | achieved rps | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for f in [*step.endpoints, step.reads, step.writes]:
        offered = f"{f.offered_rps:.1f}" if f.offered_rps is not None else "-"
        label = f"**{f.label}**" if f.offered_rps is None else f"`{f.label}`"
        lines.append(
            f"| {label} | {offered} | {f.achieved_rps:.1f} | {_ms(f.p50)} | {_ms(f.p95)} | "
            f"{_ms(f.p99)} | {100 * f.error_rate:.1f} % |"
        )
    ws = step.ws_samples
    delivered = f"{ws.count} of {step.ws_expected}" if step.ws_expected else f"{ws.count}"
    lines.append(
        f"| `WS live samples` (ingest sent -> received; messages {delivered}) | - | "
        f"{ws.achieved_rps:.1f} | {_ms(ws.p50)} | {_ms(ws.p95)} | {_ms(ws.p99)} | "
        f"{100 * ws.error_rate:.1f} % |"
    )
    c = step.ws_connect
    lines.append(
        f"| `WS connect` ({c.count} subscribers) | - | - | {_ms(c.p50)} | {_ms(c.p95)} | "
        f"{_ms(c.p99)} | {100 * c.error_rate:.1f} % |"
    )
    return lines


def steps_table(steps: Sequence[Step]) -> list[str]:
    lines = [
        "| offered rps | achieved rps | reads p50 / p95 / p99 ms | writes p50 / p95 / p99 ms "
        "| errors | WS messages | reads SLO | past saturation because | load avg |",
        "|---:|---:|---|---|---:|---:|---|---|---:|",
    ]
    for s in steps:
        r, w = s.reads, s.writes
        ws = f"{s.ws_samples.count}/{s.ws_expected}"
        lines.append(
            f"| {s.offered_total:.1f} | {s.http.achieved_rps:.1f} | "
            f"{_ms(r.p50)} / {_ms(r.p95)} / {_ms(r.p99)} | "
            f"{_ms(w.p50)} / {_ms(w.p95)} / {_ms(w.p99)} | {100 * s.http.error_rate:.2f} % | "
            f"{ws} | {'met' if s.slo_met else 'missed'} | {'; '.join(s.reasons) or '-'} | "
            f"{s.load:.1f} |"
        )
    return lines


def usage_table(steps: Sequence[Step], groups: Sequence[str]) -> list[str]:
    lines = [
        "| replicas | offered rps | " + " | ".join(groups) + " |",
        "|---:|---:|" + "---:|" * len(groups),
    ]
    for s in steps:
        cells = []
        for group in groups:
            u = s.usage.get(group)
            cells.append(
                "-"
                if u is None
                else f"{u.cpu_mean:.0f} % (waiting {u.wait_mean:.0f} %) / {u.rss_max_mb:.0f} MB"
            )
        lines.append(f"| {s.replicas} | {s.offered_total:.1f} | " + " | ".join(cells) + " |")
    return lines


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def latency_plot(by_replicas: dict[int, list[Step]]) -> bytes:
    figure = Figure(figsize=(10, 4.2), dpi=90, layout="constrained")
    axes = figure.subplots(1, len(by_replicas), sharey=True, squeeze=False)[0]
    for ax, (replicas, steps) in zip(axes, sorted(by_replicas.items()), strict=True):
        x = [s.offered_total for s in steps]
        for q, style in (("p50", ":"), ("p95", "--"), ("p99", "-")):
            ax.plot(x, [getattr(s.reads, q) for s in steps], style, marker="o", label=f"reads {q}")
        for name, color in (
            ("POST /api/v1/spacecraft", "tab:green"),
            ("POST /api/v1/conj", "tab:red"),
        ):
            series = [next(f for f in s.endpoints if f.label.startswith(name)) for s in steps]
            ax.plot(
                x,
                [f.p99 for f in series],
                "-",
                color=color,
                alpha=0.6,
                marker=".",
                label=("ingest" if "spacecraft" in name else "CDM upload") + " p99",
            )
        ax.axhline(SLO_READ_P99_MS, color="black", linewidth=0.8, label="SLO: reads p99 200 ms")
        ax.set_yscale("log")
        ax.set_title(f"{replicas} replica{'s' if replicas > 1 else ''} behind nginx")
        ax.set_xlabel("offered rate, all HTTP endpoints (requests/s)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("latency (ms)")
    axes[-1].legend(fontsize=7, loc="upper left")
    return _png(figure)


COLOURS = {
    "replica 1": "tab:blue",
    "replica 2": "tab:orange",
    "nginx": "tab:green",
    "postgres (this db)": "tab:red",
    "redis": "tab:brown",
    "locust": "tab:purple",
}


def usage_plot(by_replicas: dict[int, list[Step]], groups: Sequence[str]) -> bytes:
    figure = Figure(figsize=(10, 6.5), dpi=90, layout="constrained")
    grid = figure.subplots(2, len(by_replicas), sharex="col", squeeze=False)
    for column, (replicas, steps) in enumerate(sorted(by_replicas.items())):
        x = [s.offered_total for s in steps]
        cpu_ax, rss_ax = grid[0][column], grid[1][column]
        for group in groups:
            if not any(group in s.usage for s in steps):
                continue
            cpu = [s.usage[group].cpu_mean if group in s.usage else np.nan for s in steps]
            rss = [s.usage[group].rss_max_mb if group in s.usage else np.nan for s in steps]
            colour = COLOURS.get(group)
            cpu_ax.plot(x, cpu, marker="o", color=colour, label=group)
            rss_ax.plot(x, rss, marker="o", color=colour, label=group)
            if group.startswith("replica"):
                wait = [s.usage[group].wait_mean if group in s.usage else np.nan for s in steps]
                cpu_ax.plot(x, wait, ":", marker="x", color=colour, label=f"{group}: waiting")
        cpu_ax.set_title(
            f"{replicas} replica{'s' if replicas > 1 else ''}: CPU used and waited for (%)"
        )
        rss_ax.set_title("resident memory without shared pages (max, MB)")
        rss_ax.set_xlabel("offered rate (requests/s)")
        for ax in (cpu_ax, rss_ax):
            ax.grid(True, alpha=0.3)
    for row in grid:
        for ax in row:
            ax.legend(fontsize=7, loc="upper left")
    return _png(figure)
