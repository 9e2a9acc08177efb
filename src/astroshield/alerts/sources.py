"""Values of the built-in metrics, sampled once per evaluation cycle.

Rates and the latency percentile are computed over the interval since the previous
sample (Prometheus ``rate`` and ``histogram_quantile`` over one evaluation window), read
from our own Prometheus registry so alerts see exactly what ``/metrics`` exports.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

ERRORS_SAMPLE = "astroshield_http_errors_total"
LATENCY_BUCKET_SAMPLE = "astroshield_http_request_duration_seconds_bucket"


def _samples(registry: CollectorRegistry, name: str) -> Iterable[tuple[dict[str, str], float]]:
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name:
                yield sample.labels, sample.value


def quantile_from_buckets(q: float, buckets: dict[float, float]) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket holding rank q·n.
    ``buckets`` maps upper bound (le) to cumulative count."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    total = buckets[bounds[-1]]
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its lower edge is all we know
            width = count - below
            return lower + (bound - lower) * ((rank - below) / width if width > 0 else 1.0)
        lower, below = bound, count
    return lower


@dataclass(frozen=True)
class _Snapshot:
    time_s: float
    errors: float
    buckets: dict[float, float]
    cpu: tuple[float, float] | None


@dataclass
class MetricSources:
    registry: CollectorRegistry
    database_probe: Callable[[], Awaitable[bool]]
    proc: Path = Path("/proc")
    _previous: _Snapshot | None = field(default=None)

    def _cpu_times(self) -> tuple[float, float] | None:
        try:
            fields = (self.proc / "stat").read_text().splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return None
        values = [float(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
        return sum(values), idle

    def _memory_percent(self) -> float | None:
        try:
            info = dict(
                line.split(":", 1) for line in (self.proc / "meminfo").read_text().splitlines()
            )
            total = float(info["MemTotal"].split()[0])
            available = float(info["MemAvailable"].split()[0])
        except (OSError, KeyError, ValueError):
            return None
        return 100.0 * (total - available) / total if total > 0 else None

    def _latency_buckets(self) -> dict[float, float]:
        buckets: dict[float, float] = {}
        for labels, value in _samples(self.registry, LATENCY_BUCKET_SAMPLE):
            bound = float(labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + value
        return buckets

    async def sample(self, now_s: float) -> dict[str, float]:
        values: dict[str, float] = {}
        errors = sum(value for _, value in _samples(self.registry, ERRORS_SAMPLE))
        buckets = self._latency_buckets()
        cpu = self._cpu_times()
        previous = self._previous
        if previous is not None and now_s > previous.time_s:
            elapsed = now_s - previous.time_s
            values["http_errors_per_minute"] = max(0.0, errors - previous.errors) / elapsed * 60
            window = {b: count - previous.buckets.get(b, 0.0) for b, count in buckets.items()}
            p95 = quantile_from_buckets(0.95, window)
            if p95 is not None:
                values["http_latency_p95_ms"] = p95 * 1000.0
            if cpu is not None and previous.cpu is not None:
                total = cpu[0] - previous.cpu[0]
                if total > 0:
                    values["system_cpu_percent"] = 100.0 * (
                        1.0 - (cpu[1] - previous.cpu[1]) / total
                    )
        self._previous = _Snapshot(now_s, errors, buckets, cpu)
        memory = self._memory_percent()
        if memory is not None:
            values["system_memory_percent"] = memory
        values["database_up"] = 1.0 if await self.database_probe() else 0.0
        return values
