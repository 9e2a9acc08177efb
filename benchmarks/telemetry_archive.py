"""Telemetry at archive scale on PostgreSQL's day partitions: ingest rate and the 500-bucket
query over a long span.

1. One parameter at 1 Hz over ``--year-days`` days (365: 31.5 M samples) ending now, one
   day partition per day (created with ``telemetry.partitions.ensure_partitions``, as
   startup and retention do). Ingest is the service's own COPY path without HTTP: the
   binary COPY payload ``binary_copy_payload`` encodes, ``--batch`` samples per
   transaction, one connection: samples/s.
2. ``--parameters`` parameters (10,000) over one day, one sample every ``--step`` seconds
   (the issue's 1 Hz is 864 M rows a day, beyond this machine's time: 60 s gives 14.4 M
   rows with the same 10,000 parameters in one partition), ingested the same way.
3. The 500-bucket query (``TelemetryRepository.buckets``, the SQL behind
   ``GET .../samples?count=500``) over the whole year of (1), and over the day of one
   parameter of (2): median and max of ``--repeat`` runs, warm cache.

Everything runs in a scratch database created and dropped here.

    PYTHONPATH=. .venv/bin/python benchmarks/telemetry_archive.py [--pg URL]
        [--year-days 365] [--parameters 10000] [--step 60] [--write-results]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks.results import cpu_model, replace_section
from rich.console import Console
from sqlalchemy import text
from tests.conftest import settings_for
from tests.support.databases import DEFAULT_PG_URL, fresh_database

from astroshield.db import create_engine, create_sessionmaker, session_scope
from astroshield.migrate import upgrade_async
from astroshield.telemetry.partitions import ensure_partitions
from astroshield.telemetry.repository.archive import BucketRow, TelemetryRepository
from astroshield.telemetry.samples import SampleColumns, microseconds_since_postgres_epoch
from astroshield.telemetry.summaries import MIN_SUMMARY_BUCKET_US

REPO = Path(__file__).resolve().parents[1]
HEADING = "## Telemetry at archive scale (issue 17)"
console = Console()


@dataclass
class Figures:
    label: str
    samples: int
    ingest_s: float
    query_ms: list[float]
    buckets: int
    span_s: float = 0.0
    plain_ms: list[float] = field(default_factory=list)
    same_answer: bool = True

    @property
    def rate(self) -> float:
        return self.samples / self.ingest_s


async def _ingest(sessionmaker: Any, batches: Any) -> tuple[int, float]:
    """The ingest's own storage step (``TelemetryRepository.store_samples``: the binary COPY
    and the hour summaries), one transaction per batch."""
    total, started = 0, time.perf_counter()
    for samples in batches:
        async with session_scope(sessionmaker) as session:
            total += await TelemetryRepository(session).store_samples(samples)
    return total, time.perf_counter() - started


def _year_batches(parameter_id: int, start: datetime, seconds: int, batch: int) -> Any:
    start_us = microseconds_since_postgres_epoch(start)
    for offset in range(0, seconds, batch):
        count = min(batch, seconds - offset)
        times = start_us + (offset + np.arange(count, dtype=np.int64)) * 1_000_000
        yield _samples(np.full(count, parameter_id, dtype=np.int32), times)


def _day_batches(ids: list[int], start: datetime, step_s: int, batch: int) -> Any:
    """Every parameter's sample at each time step, time step by time step (as ground
    stations deliver them)."""
    start_us = microseconds_since_postgres_epoch(start)
    id_array = np.asarray(ids, dtype=np.int32)
    steps_per_batch = max(1, batch // len(ids))
    steps = 86_400 // step_s
    for first in range(0, steps, steps_per_batch):
        count = min(steps_per_batch, steps - first)
        times = start_us + (first + np.arange(count, dtype=np.int64)) * step_s * 1_000_000
        yield _samples(np.tile(id_array, count), np.repeat(times, len(ids)))


def _samples(parameter_ids: np.ndarray, times_us: np.ndarray) -> SampleColumns:
    values = np.sin(times_us / 1e9) + parameter_ids
    return SampleColumns(parameter_ids=parameter_ids, times_us=times_us, values=values)


async def _parameters(engine: Any, count: int) -> list[int]:
    async with engine.begin() as connection:
        organisation = (
            await connection.execute(
                text(
                    "INSERT INTO organisations (id, name, slug, created_at) VALUES "
                    "(gen_random_uuid(), 'archive', 'archive', now()) RETURNING id"
                )
            )
        ).scalar_one()
        spacecraft = (
            await connection.execute(
                text(
                    "INSERT INTO spacecraft (id, organisation_id, name, mode, health, "
                    "created_at, updated_at, health_source) VALUES (gen_random_uuid(), :o, "
                    "'archive-1', 'operational', 'nominal', now(), now(), 'none') RETURNING id"
                ),
                {"o": organisation},
            )
        ).scalar_one()
        rows = await connection.execute(
            text(
                "INSERT INTO telemetry_parameters (spacecraft_id, name, type, created_at, "
                "updated_at) SELECT :s, 'p' || n, 'float', now(), now() "
                "FROM generate_series(1, :n) n RETURNING id"
            ),
            {"s": spacecraft, "n": count},
        )
        return sorted(rows.scalars())


async def _query(
    sessionmaker: Any,
    parameter_id: int,
    start: datetime,
    stop: datetime,
    repeat: int,
    *,
    plain: bool = False,
) -> tuple[list[float], list[BucketRow]]:
    """Times of ``repeat`` runs after one warm-up, and the answer. ``plain``: every sample
    of the span grouped, without the hour summaries (what the query did before them)."""
    times: list[float] = []
    rows: list[BucketRow] = []
    for _ in range(repeat + 1):
        async with session_scope(sessionmaker) as session:
            repository = TelemetryRepository(session)
            began = time.perf_counter()
            if plain:
                rows = await repository.group_buckets(
                    parameter_id, start, stop, 500, [(start, stop)]
                )
            else:
                rows = await repository.buckets(parameter_id, start, stop, 500)
            times.append((time.perf_counter() - began) * 1000)
    return times[1:], sorted(rows, key=lambda row: row.index)


async def _summary_overhead(
    sessionmaker: Any, ids: list[int], day: datetime, batch: int, batches: int
) -> tuple[float, float]:
    """Storage rate (samples/s) of batches of one time step after another across every
    parameter in ``ids``: the COPY alone, and the COPY with the hour summaries (what the
    ingest does), alternating batch by batch so both see the same machine."""
    seconds = {True: 0.0, False: 0.0}
    samples = {True: 0, False: 0}
    for number, columns in enumerate(_day_batches(ids, day, 60, batch)):
        if number == batches:
            break
        summarised = number % 2 == 1
        async with session_scope(sessionmaker) as session:
            repository = TelemetryRepository(session)
            began = time.perf_counter()
            if summarised:
                await repository.store_samples(columns)
            else:
                await repository._copy_samples(columns)
            seconds[summarised] += time.perf_counter() - began
        samples[summarised] += len(columns)
    return samples[False] / seconds[False], samples[True] / seconds[True]


def _same(summarised: list[BucketRow], plain: list[BucketRow]) -> bool:
    return len(summarised) == len(plain) and all(
        (a.index, a.count, a.min, a.max) == (b.index, b.count, b.min, b.max)
        and math.isclose(a.total, b.total, rel_tol=1e-9)
        for a, b in zip(summarised, plain, strict=True)
    )


def _ratio(item: Figures, plain_ms: float, median_ms: float) -> str:
    """plain / summarised, where the summaries are used (buckets of 4 hours or more)."""
    if item.span_s / 500 < MIN_SUMMARY_BUCKET_US / 1e6:
        return "same query"
    return f"{plain_ms / median_ms:,.1f}x"


def _markdown(
    figures: list[Figures], args: argparse.Namespace, disk: str, overhead: tuple[float, float]
) -> str:
    load = os.getloadavg()
    lines = [
        HEADING,
        "",
        f"`make telemetry-archive` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, PostgreSQL 15, "
        f"this 2-core machine ({cpu_model()}) shared with other work, load average "
        f"{load[0]:.2f} at the end, under `nice -n 10`). Samples go in through the ingest's "
        "own storage step (`TelemetryRepository.store_samples`: the binary COPY and the "
        f"hour summaries), {args.batch:,} samples per transaction, one connection, into day "
        "partitions created ahead by `ensure_partitions`. The query is "
        "`TelemetryRepository.buckets` (500 buckets; the SQL behind "
        f"`GET .../samples?count=500`), warm, {args.repeat} runs after one warm-up; "
        "*plain* is the same 500 buckets grouped from every sample of the span without the "
        f"hour summaries (what the query did before them), {args.plain_repeat} runs after "
        "one warm-up; both with PostgreSQL's JIT off for the statement, as the service "
        "runs them (compiling cost more than it saved, 2.4 s of 3.6 s over 120 days). "
        f"Database size after both loads: {disk}.",
        "",
        "| data set | samples | ingest (samples/s) | 500-bucket query median (ms) | max (ms) "
        "| plain grouping median (ms) | ratio | same answer | buckets |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for item in figures:
        median, plain = statistics.median(item.query_ms), statistics.median(item.plain_ms)
        lines.append(
            f"| {item.label} | {item.samples:,} | {item.rate:,.0f} | {median:,.0f} | "
            f"{max(item.query_ms):,.0f} | {plain:,.0f} | {_ratio(item, plain, median)} | "
            f"{'yes' if item.same_answer else '**no**'} | {item.buckets} |"
        )
    lines += [
        "",
        f"What ran: `--year-days {args.year_days} --parameters {args.parameters} "
        f"--step {args.step}`. The issue's second set (10,000 parameters at 1 Hz for a day, "
        "864 M rows, ~60 GB with its index) does not fit this machine's time; it ran with "
        f"one sample every {args.step} s per parameter, so the day partition holds "
        f"{args.parameters:,} parameters as it would, with 1/{args.step} of the rows (a "
        f"one-parameter day query groups {86_400 // args.step:,} samples here, 86,400 at 1 Hz).",
        "",
        "Reading: grouping every sample of the span runs at "
        f"{figures[0].samples / statistics.median(figures[0].plain_ms) / 1000:,.1f} M "
        "samples/s here with JIT off. The first measurement of this section (same data, "
        "JIT on, machine at load ~7) took 35 s for the year, past the service's 30 s "
        "statement timeout; the plain grouping's time grows with the span and the "
        "machine's load, the summarised query's with the number of buckets. "
        "With hour summaries (one row per parameter and UTC hour, added to by the ingest in "
        "the samples' transaction; docs/telemetry-archive.md) a bucket of several hours takes "
        "every hour that lies inside it from its summary and groups only the hours a bucket "
        "boundary cuts (at most one per boundary) and the partial hours at either end: for a "
        "year in 500 buckets that is ~500 of 8,760 hours of samples. A day in 500 buckets "
        "(173 s each) is below the 4-hour bucket width where summaries start to pay, and "
        "is grouped from the samples as before. *Same answer*: counts, minima and maxima "
        "equal and sums within 1e-9 of the plain grouping.",
        "",
        "What the summaries cost the ingest: batches of "
        f"{args.batch // args.parameters} time steps across all {args.parameters:,} "
        "parameters (the widest kind: every batch upserts one summary row per parameter), "
        "40 batches alternating in the same run: the COPY alone "
        f"{overhead[0]:,.0f} samples/s, the COPY with the hour summaries {overhead[1]:,.0f} "
        f"samples/s ({overhead[0] / overhead[1]:.2f}x the time). For one parameter over time "
        "(the year set) a batch of 100,000 samples adds 28 summary rows and the cost is lost "
        "in the noise. This is the storage step only; the HTTP ingest adds its parsing and "
        "validation (issue 6's figures) on top.",
        "",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=DEFAULT_PG_URL)
    parser.add_argument("--year-days", type=int, default=365)
    parser.add_argument("--parameters", type=int, default=10_000)
    parser.add_argument("--step", type=int, default=60)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plain-repeat", type=int, default=2)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    today = datetime.combine(datetime.now(UTC).date(), clock(), UTC)
    year_start = today - timedelta(days=args.year_days)
    day_start = today - timedelta(days=1)
    figures = []
    async with fresh_database(args.pg, Path(tempfile.gettempdir())) as url:
        # No statement timeout: ANALYZE and year-long queries over tens of millions of rows.
        settings = settings_for(url, db_statement_timeout_ms=0, db_command_timeout_s=3600)
        await upgrade_async(settings)
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with session_scope(sessionmaker) as session:
                created = await ensure_partitions(session, year_start.date(), args.year_days + 8)
            console.print(f"{len(created)} day partitions created")
            ids = await _parameters(engine, args.parameters + 1)
            year_id, day_ids = ids[0], ids[1:]

            seconds = args.year_days * 86_400
            total, took = await _ingest(
                sessionmaker, _year_batches(year_id, year_start, seconds, args.batch)
            )
            console.print(f"year: {total:,} samples in {took:.1f} s = {total / took:,.0f}/s")
            year_figures = Figures(f"1 parameter, 1 Hz, {args.year_days} days", total, took, [], 0)

            batches = _day_batches(day_ids, day_start, args.step, args.batch)
            total, took = await _ingest(sessionmaker, batches)
            console.print(f"day: {total:,} samples in {took:.1f} s = {total / took:,.0f}/s")
            label = f"{args.parameters:,} parameters, 1 per {args.step} s, 1 day"
            day_figures = Figures(label, total, took, [], 0)

            async with engine.connect() as connection:
                auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await auto.execute(text("ANALYZE telemetry_samples"))
                disk = (
                    await auto.execute(
                        text("SELECT pg_size_pretty(pg_database_size(current_database()))")
                    )
                ).scalar_one()
            for figures_of, parameter_id, start in (
                (year_figures, year_id, year_start),
                (day_figures, day_ids[len(day_ids) // 2], day_start),
            ):
                figures_of.query_ms, rows = await _query(
                    sessionmaker, parameter_id, start, today, args.repeat
                )
                figures_of.buckets = len(rows)
                figures_of.span_s = (today - start).total_seconds()
                figures_of.plain_ms, plain_rows = await _query(
                    sessionmaker, parameter_id, start, today, args.plain_repeat, plain=True
                )
                figures_of.same_answer = _same(rows, plain_rows)
            figures = [year_figures, day_figures]
            overhead = await _summary_overhead(
                sessionmaker, day_ids, today + timedelta(days=1), args.batch, 40
            )
        finally:
            await engine.dispose()
    for item in figures:
        console.print(
            f"{item.label}: {item.samples:,} samples, ingest {item.rate:,.0f}/s, 500 buckets "
            f"median {statistics.median(item.query_ms):,.0f} ms ({item.buckets} buckets); "
            f"plain grouping {statistics.median(item.plain_ms):,.0f} ms; "
            f"same answer: {item.same_answer}"
        )
    console.print(f"database size {disk}")
    if args.write_results:
        replace_section(HEADING, _markdown(figures, args, disk, overhead))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
