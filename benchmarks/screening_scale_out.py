"""Catalog screening scale-out: one local process against a Dask cluster on separate hosts.

The same screening as benchmarks/screening.py (the shared CelesTrak catalog, 26,834 objects,
all-vs-all, 2024-11-01T00:00Z + 1 day, 5 km; ``--objects N`` for the first N objects of the
file instead) run three ways:

1. locally in this process (``screen_catalog(..., workers=1)``: the serial reference), and
   in a local pool of ``--local-pool`` processes (default 2; 0 skips it);
2. on a Dask cluster with one worker: scheduler and worker each in a network namespace of
   its own (tests/support/netns.py: separate hosts on a bridge, started with
   ``dask scheduler`` / ``dask worker --nthreads 1``), the client (this process) in the root
   namespace;
3. the same cluster with a second worker host added.

Each cluster run follows a small warm-up run (imports on the workers, as on a long-lived
cluster). Reported per run: wall time split into the serial parts (before the first unit:
validation, shell filter, planning; the units, with the catalog scatter; after the last unit:
merge) and the CSV write, CPU time (this process + local worker process, or the client, the
scheduler and each worker, by ``time.process_time`` / ``getrusage``), speedup and efficiency
against the local run, the catalog's pickled size, the bytes each worker host received and
sent (its veth counters), its peak RSS, and the scheduler's overhead per task (500 no-op
tasks). All results must be identical (events, skips, stage counts), else exit 1.

Usage (from the repo root, as root: namespaces need CAP_SYS_ADMIN):
``nice -n 10 .venv/bin/python benchmarks/screening_scale_out.py [--objects N] [--write-results]``
(``make scale-out``). ``--sweep`` instead times in-process runs of a thinned catalog and
other thresholds (the growth terms of docs/scaling.md). ``--write-results`` replaces the section
"## Screening scale-out on Dask hosts (issue 17)" of benchmarks/RESULTS.md (added at the end
when missing) and writes benchmarks/figures/scale-out.png.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import distributed  # noqa: E402
from benchmarks.results import cpu_model, replace_section  # noqa: E402
from distributed import Client  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tests.support.netns import (  # noqa: E402
    Host,
    Hosts,
    NamespacesUnavailableError,
    network_hosts,
    start_scheduler,
    start_worker,
)

from astroshield.astro.conjunction.screening import (  # noqa: E402
    ScreeningResult,
    screen_catalog,
    write_events_csv,
)
from astroshield.astro.dynamics.elements import ElementSet  # noqa: E402
from astroshield.astro.formats.omm import read_omm_file  # noqa: E402

CATALOG_CSV = REPO.parent / "shared" / "data" / "catalog" / "celestrak_on_orbit_20241101.csv"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
FIGURE = REPO / "benchmarks" / "figures" / "scale-out.png"
SECTION = "## Screening scale-out on Dask hosts (issue 17)"
START = datetime(2024, 11, 1, tzinfo=UTC)
THRESHOLD_KM = 5.0
NOOP_TASKS = 500


@dataclass
class Run:
    """One configuration's figures."""

    label: str
    workers: int  # worker processes doing units
    wall_s: float = 0.0
    before_s: float = 0.0  # start to the first unit submitted (validation, shells, plan)
    units_s: float = 0.0  # first unit submitted to last unit collected (scatter included)
    after_s: float = 0.0  # last unit to the result (merge)
    csv_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)  # by process
    load_before: float = 0.0
    received: dict[str, int] = field(default_factory=dict)  # by worker host, bytes
    sent: dict[str, int] = field(default_factory=dict)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    scatter_s: float = 0.0
    task_overhead_ms: float = 0.0
    result: ScreeningResult | None = None

    @property
    def cpu_total_s(self) -> float:
        return sum(self.cpu_s.values())


def _timed_screen(
    elements: Sequence[ElementSet], duration: timedelta, run: Run, **where: object
) -> None:
    """screen_catalog with the phases split by the progress callback; the CSV write timed."""
    marks: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        if done == 0:
            marks["first"] = time.perf_counter()
        if done == total:
            marks["last"] = time.perf_counter()

    run.load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = screen_catalog(elements, START, duration, THRESHOLD_KM, progress=progress, **where)
    ended = time.perf_counter()
    run.wall_s = ended - started
    run.before_s = marks["first"] - started
    run.units_s = marks["last"] - marks["first"]
    run.after_s = ended - marks["last"]
    with tempfile.TemporaryDirectory() as scratch:
        began = time.perf_counter()
        write_events_csv(result.events, Path(scratch) / "events.csv")
        run.csv_s = time.perf_counter() - began
    run.result = result


def _own_cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_local(elements: Sequence[ElementSet], duration: timedelta, workers: int) -> Run:
    """``workers=1`` runs the units in this process, more in a local process pool."""
    label = "local, in process" if workers == 1 else f"local, pool of {workers} processes"
    run = Run(label, workers)
    own, children = _own_cpu_s(resource.RUSAGE_SELF), _own_cpu_s(resource.RUSAGE_CHILDREN)
    _timed_screen(elements, duration, run, workers=workers)
    run.cpu_s = {"main process": _own_cpu_s(resource.RUSAGE_SELF) - own}
    if workers > 1:
        run.cpu_s["pool processes"] = _own_cpu_s(resource.RUSAGE_CHILDREN) - children
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        run.peak_rss_mib = {"largest pool process": largest}
    else:
        run.peak_rss_mib = {
            "main process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        }
    return run


def _worker_host(hosts: Hosts, address: str) -> Host:
    ip = address.split("://")[1].rsplit(":", 1)[0]
    return next(host for host in hosts.hosts if host.address == ip)


def _overheads(client: Client, elements: Sequence[ElementSet], run: Run) -> None:
    """The catalog's broadcast scatter and the scheduler's cost per (no-op) task."""
    began = time.perf_counter()
    [data] = client.scatter([tuple(elements)], broadcast=True, hash=False)
    run.scatter_s = time.perf_counter() - began
    client.cancel([data])
    began = time.perf_counter()
    client.gather(client.map(abs, range(-NOOP_TASKS, 0), pure=False))
    run.task_overhead_ms = (time.perf_counter() - began) / NOOP_TASKS * 1000.0


def run_cluster(
    hosts: Hosts,
    client: Client,
    elements: Sequence[ElementSet],
    duration: timedelta,
    warm_up: Sequence[ElementSet],
) -> Run:
    workers = sorted(client.scheduler_info()["workers"])
    run = Run(f"Dask, {len(workers)} worker host{'s' if len(workers) > 1 else ''}", len(workers))
    screen_catalog(warm_up, START, timedelta(hours=2), THRESHOLD_KM, scheduler=client)
    _overheads(client, elements, run)
    on = {address: _worker_host(hosts, address) for address in workers}
    traffic = {address: hosts.traffic(host) for address, host in on.items()}
    cpu_workers = client.run(time.process_time)
    cpu_scheduler = client.run_on_scheduler(time.process_time)
    cpu_client = time.process_time()
    _timed_screen(elements, duration, run, scheduler=client)
    run.cpu_s["client"] = time.process_time() - cpu_client
    run.cpu_s["scheduler"] = client.run_on_scheduler(time.process_time) - cpu_scheduler
    after = client.run(time.process_time)
    rss = client.run(resource.getrusage, resource.RUSAGE_SELF)
    for address, host in on.items():
        name = f"host {host.address}"
        run.cpu_s[f"worker on {name}"] = after[address] - cpu_workers[address]
        received, sent = hosts.traffic(host)
        run.received[name] = received - traffic[address][0]
        run.sent[name] = sent - traffic[address][1]
        run.peak_rss_mib[f"worker on {name}"] = rss[address].ru_maxrss / 1024
    return run


def _check_identical(runs: list[Run]) -> list[str]:
    reference = runs[0].result
    assert reference is not None
    problems = []
    for run in runs[1:]:
        result = run.result
        assert result is not None
        if result.events != reference.events:
            problems.append(f"{run.label}: events differ from the local run")
        if result.skipped != reference.skipped:
            problems.append(f"{run.label}: skipped objects differ")
        if replace(result.stats, workers=1) != replace(reference.stats, workers=1):
            problems.append(f"{run.label}: stage counts differ")
    return problems


def _plot(runs: list[Run], title: str) -> bytes:
    figure = Figure(figsize=(10, 4), dpi=100)
    wall, speed = figure.subplots(1, 2)
    labels = [
        run.label.replace("local, pool of ", "pool of ")
        .replace(" processes", "\nprocesses")
        .replace(", ", "\n")
        .replace(" worker host", "\nworker host")
        for run in runs
    ]
    before = [run.before_s for run in runs]
    units = [run.units_s for run in runs]
    after = [run.after_s + run.csv_s for run in runs]
    wall.bar(labels, before, label="before the units (shells, plan)", color="#999999")
    wall.bar(labels, units, bottom=before, label="units (scatter, screening)", color="#1f77b4")
    tops = [b + u for b, u in zip(before, units, strict=True)]
    wall.bar(labels, after, bottom=tops, label="merge + CSV", color="#ff7f0e")
    wall.tick_params(axis="x", labelsize=8)
    wall.set_ylabel("wall time [s]")
    wall.set_title("Wall time by phase")
    wall.legend(fontsize=8)
    base = runs[0].wall_s
    dask = [run for run in runs if run.label.startswith("Dask")]
    pools = [run for run in runs if run.label.startswith("local")]
    counts = [run.workers for run in runs]
    speed.plot([1, max(counts)], [1, max(counts)], "--", color="grey", label="ideal")
    speed.plot(
        [run.workers for run in dask], [base / run.wall_s for run in dask], "o-", label="Dask hosts"
    )
    speed.plot(
        [run.workers for run in pools],
        [base / run.wall_s for run in pools],
        "s:",
        label="local (in process, pool)",
    )
    speed.set_xticks(sorted(set(counts)))
    speed.set_xlabel("worker processes (1 thread each)")
    speed.set_ylabel("speedup vs local 1 process")
    speed.set_title("Speedup")
    speed.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _section(runs: list[Run], context: dict[str, str]) -> str:
    base = runs[0].wall_s
    lines = [
        SECTION,
        "",
        f"Command (repo root, as root): `{context['command']}` (`make scale-out`);"
        " plot: benchmarks/figures/scale-out.png. Cost model from these figures:"
        " docs/scaling.md.",
        "",
        f"- Date: {context['date']} UTC; machine: nproc={os.cpu_count()}, CPU: {cpu_model()},"
        " shared with other jobs (the 1-min load average before each run is in the table)",
        f"- Python {platform.python_version()}, distributed {distributed.__version__};"
        f" {context['input']}",
        "- Hosts: network namespaces on one bridge (tests/support/netns.py), scheduler on one,"
        " one `dask worker --nthreads 1` (behind its nanny) on each worker host, client in the"
        " root namespace; the scheduler and the client share the machine's 2 cores with the"
        " workers. Each cluster run after a warm-up run.",
        f"- Catalog pickled: {context['catalog_bytes']} (scattered to every worker once);"
        f" catalog read {context['load_s']} s (not in the wall time).",
        "",
        "| run | wall [s] | before units [s] | units [s] | merge [s] | CSV [s] | CPU [s] |"
        " CPU / local CPU | speedup | efficiency | load before |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        speedup = base / run.wall_s
        lines.append(
            f"| {run.label} | {run.wall_s:.1f} | {run.before_s:.2f} | {run.units_s:.1f} |"
            f" {run.after_s:.2f} | {run.csv_s:.3f} | {run.cpu_total_s:.1f} |"
            f" {run.cpu_total_s / runs[0].cpu_total_s:.2f} | {speedup:.2f} |"
            f" {speedup / run.workers:.0%} | {run.load_before:.2f} |"
        )
    lines += [
        "",
        "Speedup and efficiency are by wall time against the in-process run; with other jobs"
        " on the two cores they move with the load, so *CPU / local CPU* (the extra work the"
        " cluster path costs, summed over every process) is the steadier figure.",
        "",
        "CPU by process, traffic and peak RSS per worker host:",
        "",
    ]
    for run in runs:
        cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.cpu_s.items())
        parts = [f"- {run.label}: CPU {cpu}"]
        for name in run.received:
            parts.append(
                f"{name} received {run.received[name] / 1e6:.1f} MB, sent"
                f" {run.sent[name] / 1e6:.1f} MB"
            )
        rss = ", ".join(f"{name} {mib:.0f} MiB" for name, mib in run.peak_rss_mib.items())
        parts.append(f"peak RSS {rss}")
        if run.scatter_s:
            parts.append(
                f"catalog broadcast scatter {run.scatter_s:.2f} s; scheduler overhead"
                f" {run.task_overhead_ms:.2f} ms per task ({NOOP_TASKS} no-op tasks)"
            )
        lines.append("; ".join(parts) + ".")
    result = runs[0].result
    assert result is not None
    stats = result.stats
    lines += [
        "",
        f"Identical results in all runs: {stats.events:,} events, {len(result.skipped)}"
        f" skipped objects, {stats.work_units} work units, {stats.candidate_pairs:,} candidate"
        " pairs (the benchmark exits 1 otherwise).",
        "",
    ]
    return "\n".join(lines)


def _show(runs: list[Run], console: Console) -> None:
    table = Table(title="Screening scale-out")
    for column in ("run", "wall (s)", "units (s)", "CPU (s)", "speedup", "efficiency", "load"):
        table.add_column(column, justify="right")
    for run in runs:
        speedup = runs[0].wall_s / run.wall_s
        table.add_row(
            run.label,
            f"{run.wall_s:.1f}",
            f"{run.units_s:.1f}",
            f"{run.cpu_total_s:.1f}",
            f"{speedup:.2f}",
            f"{speedup / run.workers:.0%}",
            f"{run.load_before:.2f}",
        )
    console.print(table)


def sweep(elements: Sequence[ElementSet], duration: timedelta, console: Console) -> int:
    """How the in-process cost grows with the catalog and the threshold (for docs/scaling.md):
    every 4th, every 2nd and every object (thinned, so the orbits keep their distribution),
    and every 2nd object at 1 and 25 km."""
    table = Table(title="In-process screening: catalog size and threshold")
    for column in (
        "objects",
        "threshold (km)",
        "wall (s)",
        "CPU (s)",
        "candidate pairs",
        "events",
        "load",
    ):
        table.add_column(column, justify="right")
    for step, threshold in ((4, 5.0), (2, 5.0), (1, 5.0), (2, 1.0), (2, 25.0)):
        subset = elements[::step]
        load = os.getloadavg()[0]
        cpu = _own_cpu_s(resource.RUSAGE_SELF)
        began = time.perf_counter()
        result = screen_catalog(subset, START, duration, threshold, workers=1)
        wall = time.perf_counter() - began
        table.add_row(
            f"{len(subset):,}",
            f"{threshold:g}",
            f"{wall:.1f}",
            f"{_own_cpu_s(resource.RUSAGE_SELF) - cpu:.1f}",
            f"{result.stats.candidate_pairs:,}",
            f"{result.stats.events:,}",
            f"{load:.2f}",
        )
        console.print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, help="the first N objects (default: all)")
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument(
        "--local-pool", type=int, default=2, help="also a local pool of N processes (0: not)"
    )
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument(
        "--sweep", action="store_true", help="only the in-process size/threshold sweep"
    )
    args = parser.parse_args(argv)
    console = Console()
    began = time.perf_counter()
    elements = read_omm_file(CATALOG_CSV)[: args.objects]
    load_s = time.perf_counter() - began
    duration = timedelta(days=args.days)
    if args.sweep:
        return sweep(elements, duration, console)
    context = {
        "command": "nice -n 10 .venv/bin/python benchmarks/screening_scale_out.py"
        + (f" --objects {args.objects}" if args.objects else "")
        + (f" --days {args.days:g}" if args.days != 1.0 else "")
        + " --write-results",
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "input": f"{len(elements):,} objects, {START:%Y-%m-%dT%H:%MZ} + {args.days:g} day(s),"
        f" all-vs-all, {THRESHOLD_KM} km, 1 h slabs",
        "catalog_bytes": f"{len(pickle.dumps(tuple(elements), protocol=5)) / 1e6:.1f} MB",
        "load_s": f"{load_s:.2f}",
    }
    console.print(f"{context['input']}; local, in process ...")
    runs = [run_local(elements, duration, 1)]
    _show(runs, console)
    if args.local_pool:
        console.print(f"local, pool of {args.local_pool} processes ...")
        runs.append(run_local(elements, duration, args.local_pool))
        _show(runs, console)
    try:
        with network_hosts(3) as hosts:
            scheduler = start_scheduler(hosts, hosts[0])
            start_worker(hosts, hosts[1], scheduler)
            with Client(scheduler, timeout=10, set_as_default=False) as client:
                client.wait_for_workers(1, timeout=60)
                console.print("Dask, 1 worker host ...")
                runs.append(run_cluster(hosts, client, elements, duration, elements[:300]))
                _show(runs, console)
                start_worker(hosts, hosts[2], scheduler)
                client.wait_for_workers(2, timeout=60)
                console.print("Dask, 2 worker hosts ...")
                runs.append(run_cluster(hosts, client, elements, duration, elements[:300]))
    except NamespacesUnavailableError as error:
        console.print(f"cannot run the cluster: {error}")
        return 2
    _show(runs, console)
    section = _section(runs, context)
    print(section)  # not through rich: "[s]" would be markup
    problems = _check_identical(runs)
    for problem in problems:
        console.print(f"[red]{problem}[/red]")
    if args.write_results and not problems:
        FIGURE.parent.mkdir(parents=True, exist_ok=True)
        FIGURE.write_bytes(_plot(runs, context["input"]))
        replace_section(SECTION, section)
        console.print(f"wrote {SECTION!r} in {RESULTS} and {FIGURE}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
