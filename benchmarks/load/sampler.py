"""CPU and memory of every process of the deployment, sampled with psutil every 0.5 s in a
thread of the driver while a load step runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

Pids = Callable[[], list[int]]


def with_children(pid: int) -> list[int]:
    try:
        process = psutil.Process(pid)
        return [pid, *(child.pid for child in process.children(recursive=True))]
    except psutil.Error:
        return []


def postgres_backends(database: str) -> list[int]:
    """The server processes serving ``database`` (their title names it: "postgres: user
    database host(port) state"): the share of PostgreSQL this deployment uses, not the
    other work on the same server."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        title = " ".join(cmdline)
        if process.info["name"] == "postgres" and f" {database} " in f" {title} ":
            found.append(process.pid)
    return found


def schedstat_s(pid: int) -> tuple[float, float] | None:
    """Time the process's main thread (the event loop's, for a replica) has spent on a CPU
    and ready to run but waiting for one, from the kernel's schedstat (None: unreadable)."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as stats:
            ran, waited = stats.read().split()[:2]
    except (OSError, ValueError):
        return None
    return int(ran) / 1e9, int(waited) / 1e9


def named(name: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == name]


@dataclass(frozen=True)
class Usage:
    cpu_mean: float  # % of one core, averaged over the samples
    cpu_max: float
    wait_mean: float  # % of the time the main threads waited for a CPU (run queue)
    main_run_mean: float  # % of the time the main threads were on a CPU
    rss_max_mb: float  # resident, shared pages left out


class Sampler:
    """``groups``: a label and how to find its processes now (asked on every sample, so
    that connections opened during the step count)."""

    def __init__(self, groups: dict[str, Pids], interval_s: float = 0.5) -> None:
        self.groups = groups
        self.interval_s = interval_s
        self.samples: dict[str, list[tuple[float, float, float, float, float]]] = {
            g: [] for g in groups
        }
        self._processes: dict[int, psutil.Process] = {}
        # pid: (time, ran, waited) at the last sample
        self._sched: dict[int, tuple[float, float, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _process(self, pid: int) -> psutil.Process | None:
        process = self._processes.get(pid)
        if process is None:
            try:
                process = psutil.Process(pid)
                process.cpu_percent(None)  # the first call only starts the count
            except psutil.Error:
                return None
            self._processes[pid] = process
        return process

    def _sample(self) -> None:
        now = time.time()
        for label, pids in self.groups.items():
            cpu = rss = wait = main = 0.0
            for pid in pids():
                process = self._process(pid)
                if process is None:
                    continue
                sched = schedstat_s(pid)
                if sched is not None:
                    before = self._sched.get(pid)
                    if before is not None and now > before[0]:
                        main += 100 * (sched[0] - before[1]) / (now - before[0])
                        wait += 100 * (sched[1] - before[2]) / (now - before[0])
                    self._sched[pid] = (now, *sched)
                try:
                    cpu += process.cpu_percent(None)
                    memory = process.memory_info()
                    # Without shared pages: PostgreSQL's shared buffers would otherwise
                    # count once per backend.
                    rss += memory.rss - memory.shared
                except psutil.Error:
                    self._processes.pop(pid, None)
            self.samples[label].append((now, cpu, rss / 2**20, wait, main))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()  # primes cpu_percent for the processes already there
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def usage(self, start: float, end: float) -> dict[str, Usage]:
        result = {}
        for label, rows in self.samples.items():
            window = [row for row in rows if start <= row[0] <= end]
            if not window:
                continue
            cpus = [row[1] for row in window]
            waits = [row[3] for row in window]
            result[label] = Usage(
                cpu_mean=sum(cpus) / len(cpus),
                cpu_max=max(cpus),
                wait_mean=sum(waits) / len(waits),
                main_run_mean=sum(row[4] for row in window) / len(window),
                rss_max_mb=max(row[2] for row in window),
            )
        return result
