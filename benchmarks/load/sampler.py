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


def run_queue_wait_s(pid: int) -> float | None:
    """Time the process's main thread (the event loop's, for a replica) has spent ready to
    run but waiting for a CPU, from the kernel's schedstat (None when unreadable)."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def named(name: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == name]


@dataclass(frozen=True)
class Usage:
    cpu_mean: float  # % of one core, averaged over the samples
    cpu_max: float
    wait_mean: float  # % of the time the main threads waited for a CPU (run queue)
    rss_max_mb: float  # resident, shared pages left out


class Sampler:
    """``groups``: a label and how to find its processes now (asked on every sample, so
    that connections opened during the step count)."""

    def __init__(self, groups: dict[str, Pids], interval_s: float = 0.5) -> None:
        self.groups = groups
        self.interval_s = interval_s
        self.samples: dict[str, list[tuple[float, float, float, float]]] = {g: [] for g in groups}
        self._processes: dict[int, psutil.Process] = {}
        self._waited: dict[int, tuple[float, float]] = {}  # pid: (time, run-queue wait s)
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
            cpu = rss = wait = 0.0
            for pid in pids():
                process = self._process(pid)
                if process is None:
                    continue
                waited = run_queue_wait_s(pid)
                if waited is not None:
                    before = self._waited.get(pid)
                    if before is not None and now > before[0]:
                        wait += 100 * (waited - before[1]) / (now - before[0])
                    self._waited[pid] = (now, waited)
                try:
                    cpu += process.cpu_percent(None)
                    memory = process.memory_info()
                    # Without shared pages: PostgreSQL's shared buffers would otherwise
                    # count once per backend.
                    rss += memory.rss - memory.shared
                except psutil.Error:
                    self._processes.pop(pid, None)
            self.samples[label].append((now, cpu, rss / 2**20, wait))

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
                rss_max_mb=max(row[2] for row in window),
            )
        return result
