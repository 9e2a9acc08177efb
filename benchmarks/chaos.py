"""The chaos table: tests/chaos's scenarios at a larger size, one after the other, each on
a scratch database of its own (PostgreSQL; the SIGKILL and Redis ones on SQLite too with
``--sqlite``).

    .venv/bin/python benchmarks/chaos.py [--pg postgresql+asyncpg://...] [--scale 3] \
        [--write-results]

``--write-results`` replaces the "Chaos suite" section of benchmarks/RESULTS.md with the
table of this run (the section is added at the end when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results import replace_section  # noqa: E402
from tests.chaos.scenarios import (  # noqa: E402
    TABLE_HEADER,
    ChaosRow,
    database_proxy_fault,
    postgres_restarted_during_ingest,
    redis_stopped,
    sigkill_during_cdm_upload,
    terminate_backends_during_ingest,
)
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.faults import private_postgres_missing  # noqa: E402

SECTION = "## Chaos suite (issue 17)"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

Scenario = Callable[[str], Awaitable[ChaosRow]]

NOTES = """\
What the suite found, fixed in the app (each was a 500 or a request without an end):
- A silent database (blackhole) held requests as long as it lasted: asyncpg had no
  client-side timeout, so the pool's liveness ping just waited (slowest answer 12.06 s in a
  12 s blackhole without the fix; a partition that never heals, never answered).
  `ASTROSHIELD_DB_COMMAND_TIMEOUT_S` (default 35 s,
  above the 30 s statement timeout) bounds every command; a timed-out connection is
  invalidated and answered 503; the pool's own timeout and asyncio's are 503 too.
- A connection killed mid-request (pg_terminate_backend, a cut, a crash) gave 500s: the
  rollback on the dead connection raised out of the edge middleware; asyncpg's own errors
  from the telemetry COPY and raw socket errors from a connection reset during its
  handshake reached the catch-all, which answered 500 and re-raised (uvicorn then dropped
  the keep-alive connection: a client saw no answer). They are 503 with Retry-After now.
- A commit refused by the database answered 503 without Retry-After: every 503 carries it.

After a SIGKILL the time to recover is mostly the process start (migrations off). With Redis
down the app counts rate limits locally and keeps answering 2xx; once Redis is back its rate
limits count there again and the auth-invalidation listener is resubscribed (checked).
"""


def scenarios(scale: int) -> list[tuple[str, Scenario]]:
    return [
        ("sigkill", lambda url: sigkill_during_cdm_upload(url, cdms=24 * scale, clients=3)),
        (
            "terminate",
            lambda url: terminate_backends_during_ingest(
                url, batches=60 * scale, samples=1000, fault_s=3.0 * scale
            ),
        ),
        *(
            (
                mode,
                (
                    lambda url, mode=mode: database_proxy_fault(  # type: ignore[misc]
                        url, mode, batches=30 * scale, samples=500, fault_s=4.0 * scale
                    )
                ),
            )
            for mode in ("delay", "blackhole", "cut")
        ),
        ("redis", lambda url: redis_stopped(url, fault_s=3.0 * scale)),
    ]


async def _pg_restart(scale: int) -> ChaosRow:
    return await postgres_restarted_during_ingest(batches=30 * scale, down_s=2.0 * scale)


async def _run(base_url: str, scale: int, only: set[str] | None) -> list[ChaosRow]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, scenario in scenarios(scale):
            if only and name not in only:
                continue
            async with fresh_database(base_url, Path(tmp)) as url:
                began = time.monotonic()
                row = await scenario(url)
                row.show()
                print(f"  ({time.monotonic() - began:.0f} s)", flush=True)
                rows.append(row)
    if base_url.startswith("postgresql") and (not only or "pgrestart" in only):
        if (why := private_postgres_missing()) is not None:
            print(f"PostgreSQL restart left out: {why}")
        else:
            row = await _pg_restart(scale)
            row.show()
            rows.append(row)
    return rows


def _section(rows: list[ChaosRow], base_url: str, scale: int, began: datetime) -> str:
    load = os.getloadavg()
    lines = [
        SECTION,
        "",
        f"Command (repo root): `make chaos` runs the suite (`pytest -m chaos -s`, small sizes, "
        f"asserted); this table: `.venv/bin/python benchmarks/chaos.py --scale {scale} "
        f"--write-results` (same scenarios, larger).",
        "",
        f"- Date: {began:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, shared with "
        f"other work (load average {load[0]:.1f} at the end); database: "
        f"{'PostgreSQL 15' if base_url.startswith('postgresql') else 'SQLite'} on loopback, "
        "one scratch database per fault (the restart: a private cluster of its own); the "
        "service as a real process (one uvicorn worker).",
        "- Clients retry what was not acknowledged (every 0.1 s, for up to 90 s), then every "
        "write is checked in the database. *acknowledged*: writes answered 2xx (logins for "
        "Redis); *lost*: acknowledged but not stored (or stored incompletely); *duplicated*: "
        "stored twice (CDM by MESSAGE_ID, conjunction event by encounter, telemetry batch by "
        "source and sequence, samples per batch); *500*: any 5xx other than a 503 with "
        "Retry-After; *no answer*: connection refused or dropped (only while the replica "
        "itself was dead); *time to recover*: from the end of the fault (the restart command "
        "after a SIGKILL) to the first 2xx.",
        "",
        TABLE_HEADER,
        *(row.line() for row in rows),
        "",
        "Slowest answer during each fault: "
        + "; ".join(f"{row.fault.split(' for ')[0]}: {row.slowest_answer_s:.2f} s" for row in rows)
        + ". The proxied service runs with `ASTROSHIELD_DB_COMMAND_TIMEOUT_S=2`, "
        "`_DB_CONNECT_TIMEOUT_S=2`, `_DB_POOL_TIMEOUT_S=3`: a blackholed database costs a "
        "503 within those, not a hanging request.",
        "",
        NOTES,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg", default=os.environ.get("ASTROSHIELD_TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument(
        "--only", nargs="*", help="sigkill terminate delay blackhole cut redis pgrestart"
    )
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    began = datetime.now(UTC)
    rows = asyncio.run(_run(args.pg, args.scale, set(args.only or ())))
    section = _section(rows, args.pg, args.scale, began)
    print("\n" + section)
    failed = [r for r in rows if r.lost or r.duplicated or r.server_errors or r.unexpected]
    if args.write_results:
        replace_section(SECTION, section)
    if failed:
        sys.exit(f"faults not survived: {[r.fault for r in failed]}")


if __name__ == "__main__":
    main()
