"""EXPLAIN ANALYZE of every hot list and time-range query at the issue's volume (PostgreSQL).

The same queries and checks as tests/test_query_plans.py (the repository functions' own
SQL, captured as they send it), at 10 M telemetry samples (100 parameters at 1 Hz for
~28 h, in day partitions), 30,000 catalog objects x 100 element sets (3 M) and 1 M
conjunction history rows (500,000 events with 2 CDMs each), filled in SQL with
generate_series in a scratch database created and dropped here. Prints, per query: the
top plan node, the scans, the rows returned and the execution time; exits 1 when a query
plans a sequential scan of a large table that is not a known finding.

    .venv/bin/python benchmarks/query_plans.py [--pg URL] [--scale 1.0] [--write-results]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

from benchmarks.results import replace_section
from rich.console import Console
from rich.table import Table
from tests.conftest import settings_for
from tests.support.databases import DEFAULT_PG_URL, fresh_database
from tests.support.query_plans import Plan, Volume, fill, large_relations, plans, sequential_scans
from tests.test_query_plans import KNOWN

from astroshield.db import create_engine, create_sessionmaker
from astroshield.migrate import upgrade_async

REPO = Path(__file__).resolve().parents[1]
HEADING = "## Query plans at volume (issue 17)"
console = Console()


def _volume(scale: float) -> Volume:
    return Volume(
        samples=int(10_000_000 * scale),
        parameters=100,
        objects=int(30_000 * min(1.0, scale)),
        sets_per_object=max(2, int(100 * scale)),
        events=int(500_000 * scale),
        cdms_per_event=2,
    )


def _row(plan: Plan) -> tuple[str, str, str, str, str]:
    top = plan.top
    partition = re.compile(r"_\d{8}$")
    scans = ", ".join(
        sorted({f"{node} {partition.sub('_*', relation)}" for node, relation in plan.scans})
    )
    return (
        plan.name,
        top["Node Type"],
        scans,
        f"{top.get('Actual Rows', 0):,.0f}",
        f"{plan.plan.get('Execution Time', 0.0):.2f}",
    )


def _markdown(rows: list[tuple[str, ...]], volume: Volume, fill_s: float, bad: list[str]) -> str:
    lines = [
        HEADING,
        "",
        f"`make explain-check` ({datetime.now(UTC):%Y-%m-%d}, PostgreSQL 15, this 2-core "
        "machine shared with other work): "
        f"{volume.samples:,} telemetry samples ({volume.parameters} parameters at 1 Hz, day "
        f"partitions), {volume.objects:,} catalog objects x {volume.sets_per_object} element "
        f"sets, {volume.events:,} conjunction events x {volume.cdms_per_event} CDMs; filled in "
        f"SQL and ANALYZEd in {fill_s:.0f} s. Each row is one statement a repository function "
        "sends (captured, then `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` with its own "
        "parameters). `*` stands for a day partition.",
        "",
        "| query | top node | scans | rows | time (ms) |",
        "|---|---|---|---:|---:|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
        "Sequential scans of large tables (tests/test_query_plans.py fails on any other): "
        + ("; ".join(bad) if bad else "none")
        + ". Their fixes, in the catalog and conjunction domains, are in "
        "docs/telemetry-archive.md.",
        "",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=DEFAULT_PG_URL)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the volume")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    volume = _volume(args.scale)
    async with fresh_database(args.pg, Path(tempfile.gettempdir())) as url:
        # No statement timeout: ANALYZE and year-long queries over tens of millions of rows.
        settings = settings_for(url, db_statement_timeout_ms=0)
        await upgrade_async(settings)
        engine = create_engine(settings)
        try:
            started = time.perf_counter()
            start = datetime.combine(datetime.now(UTC).date(), clock(), UTC)
            fixture = await fill(engine, volume, start)
            fill_s = time.perf_counter() - started
            large = await large_relations(engine)
            found = await plans(create_sessionmaker(engine), fixture, analyze=True)
        finally:
            await engine.dispose()
    rows = [_row(plan) for plan in found]
    table = Table("query", "top node", "scans", "rows", "ms")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    bad = sequential_scans(found, large)
    new = [line for line in bad if line.split(" (~")[0] not in KNOWN]
    console.print(f"filled in {fill_s:.0f} s; sequential scans of large tables: {bad or 'none'}")
    if args.write_results:
        replace_section(HEADING, _markdown(rows, volume, fill_s, bad))
    if new:
        console.print(f"[red]new sequential scans: {new}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
