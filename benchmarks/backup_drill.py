"""Restore drill: seed, back up, restore into a FRESH database, prove the copy is the original.

    .venv/bin/python benchmarks/backup_drill.py [--database sqlite|postgres|both]
        [--scale small|realistic] [--write-results]      (or: make backup-drill)

For each database kind: seed a realistic volume (organisations, users, spacecraft, telemetry
parameters and samples, catalog objects and element sets, conjunction events, audit entries
written through the real chain), back up with ``astroshield.backup.backup`` (what
``astroshield db backup`` runs), restore with ``astroshield.backup.restore`` into a database
that did not exist before, then compare every table's row count and checksum (an
order-independent hash of every row) and verify the audit chain of the restored database
with the service's own verifier. Backup, restore and total times are measured; the verify
and compare steps are timed apart. ``--write-results`` appends a section to
benchmarks/RESULTS.md. tests/test_backup_drill.py runs the same drill at the small scale.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
HEADING = "## Backup and restore drill (issue 17)"

from benchmarks.results import cpu_model, replace_section  # noqa: E402

from astroshield.audit.service import record  # noqa: E402
from astroshield.audit.verify import ChainReport, verify_chain  # noqa: E402
from astroshield.backup import backup, restore  # noqa: E402
from astroshield.catalog.models import CatalogObject, ElementSetRecord  # noqa: E402
from astroshield.config import Settings  # noqa: E402
from astroshield.conjunction.models import ConjunctionEvent  # noqa: E402
from astroshield.db import (  # noqa: E402
    create_sessionmaker,
    create_unpooled_engine,
    session_scope,
    uuid7,
)
from astroshield.migrate import upgrade_async  # noqa: E402
from astroshield.organisations.models import Organisation  # noqa: E402
from astroshield.security.actor import AuditEvent  # noqa: E402
from astroshield.spacecraft.models import Spacecraft  # noqa: E402
from astroshield.telemetry.models import TelemetryParameter, TelemetrySample  # noqa: E402
from astroshield.users.models import User  # noqa: E402

CHUNK = 5_000
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Volume:
    organisations: int
    users_per_organisation: int
    spacecraft_per_organisation: int
    parameters_per_spacecraft: int
    samples_per_parameter: int
    catalog_objects: int
    element_sets_per_object: int
    events_per_spacecraft: int
    audit_entries: int

    def describe(self) -> str:
        craft = self.organisations * self.spacecraft_per_organisation
        parameters = craft * self.parameters_per_spacecraft
        return (
            f"{self.organisations} organisations, "
            f"{self.organisations * self.users_per_organisation} users, {craft} spacecraft, "
            f"{parameters:,} telemetry parameters, "
            f"{parameters * self.samples_per_parameter:,} telemetry samples, "
            f"{self.catalog_objects:,} catalog objects, "
            f"{self.catalog_objects * self.element_sets_per_object:,} element sets, "
            f"{craft * self.events_per_spacecraft:,} conjunction events, "
            f"{self.audit_entries:,} audit entries"
        )


SCALES = {
    "small": Volume(2, 3, 3, 2, 40, 20, 3, 4, 25),
    "realistic": Volume(5, 10, 20, 10, 1_000, 5_000, 20, 50, 5_000),
}


@dataclass
class TableSum:
    rows: int
    checksum: str


@dataclass
class DrillResult:
    database: str
    volume: Volume
    source: dict[str, TableSum]
    restored: dict[str, TableSum]
    chain: ChainReport
    backup_bytes: int
    seconds: dict[str, float] = field(default_factory=dict)
    tampered_tables: list[str] | None = None

    @property
    def identical(self) -> bool:
        return self.source == self.restored

    def differing_tables(self) -> list[str]:
        names = set(self.source) | set(self.restored)
        return sorted(n for n in names if self.source.get(n) != self.restored.get(n))


# ------------------------------------------------------------------ seeding


async def _bulk(connection: AsyncConnection, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await connection.execute(insert(model), rows[start : start + CHUNK])


def _fleet(volume: Volume, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Organisations, users, spacecraft, parameters and events (small tables)."""
    now = EPOCH
    tables: dict[str, list[dict[str, Any]]] = {
        "organisations": [],
        "users": [],
        "spacecraft": [],
        "parameters": [],
        "events": [],
    }
    parameter_id = 0
    for o in range(volume.organisations):
        org = {"id": uuid7(), "name": f"Drill Org {o}", "slug": f"drill-{o}", "created_at": now}
        tables["organisations"].append(org)
        for u in range(volume.users_per_organisation):
            # Opaque stand-ins of the sizes real envelopes have (the drill never decrypts).
            tables["users"].append(
                {
                    "id": uuid7(),
                    "organisation_id": org["id"],
                    "role": ("admin", "operator", "viewer")[u % 3],
                    "email_index": hashlib.sha256(f"{o}-{u}".encode()).hexdigest(),
                    "email_ciphertext": "v1:k1:" + rng.randbytes(60).hex(),
                    "name_ciphertext": "v1:k1:" + rng.randbytes(40).hex(),
                    "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$" + rng.randbytes(32).hex(),
                    "created_at": now,
                }
            )
        for c in range(volume.spacecraft_per_organisation):
            craft = {
                "id": uuid7(),
                "organisation_id": org["id"],
                "name": f"Drill Sat {o}-{c}",
                "catalog_number": str(70000 + o * 1000 + c),
                "mode": "operational",
                "health": "nominal",
                "created_at": now,
                "updated_at": now,
            }
            tables["spacecraft"].append(craft)
            for p in range(volume.parameters_per_spacecraft):
                parameter_id += 1
                tables["parameters"].append(
                    {
                        "id": parameter_id,
                        "spacecraft_id": craft["id"],
                        "name": f"PARAM_{p:03d}",
                        "type": "float",
                        "unit": "V",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for e in range(volume.events_per_spacecraft):
                tca = now + timedelta(hours=e * 7, seconds=rng.randrange(3600))
                tables["events"].append(
                    {
                        "id": uuid7(),
                        "organisation_id": org["id"],
                        "spacecraft_id": craft["id"],
                        "primary_catalog_number": craft["catalog_number"],
                        "secondary_catalog_number": str(10000 + e),
                        "secondary_name": f"DEBRIS {e}",
                        "tca": tca,
                        "tca_key": tca.replace(second=0, microsecond=0),
                        "miss_distance_m": rng.uniform(50, 5000),
                        "relative_speed_m_s": rng.uniform(100, 15000),
                        "pc": rng.choice([None, 10 ** rng.uniform(-9, -3)]),
                        "tier": rng.choice(("red", "yellow", "green")),
                        "tier_basis": "pc",
                        "status": "open",
                        "source": rng.choice(("cdm", "screening")),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    return tables


def _samples(parameter_ids: range, per_parameter: int, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "parameter_id": pid,
            "time": EPOCH + timedelta(seconds=s),
            "value": round(28.0 + rng.gauss(0, 0.5), 6),
        }
        for pid in parameter_ids
        for s in range(per_parameter)
    ]


def _catalog(
    volume: Volume, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    objects: list[dict[str, Any]] = []
    sets: list[dict[str, Any]] = []
    for n in range(volume.catalog_objects):
        number = str(20000 + n)
        inclination = rng.uniform(0, 110)
        mean_motion = rng.uniform(1.0, 16.0)
        for k in range(volume.element_sets_per_object):
            sets.append(
                {
                    "catalog_number": number,
                    "epoch": EPOCH - timedelta(hours=12 * k, seconds=n % 3600),
                    "object_name": f"OBJECT {n}",
                    "object_id": f"2020-{n % 999:03d}A",
                    "mean_motion_rev_per_day": mean_motion + k * 1e-6,
                    "eccentricity": rng.uniform(0, 0.02),
                    "inclination_deg": inclination,
                    "ra_of_asc_node_deg": rng.uniform(0, 360),
                    "arg_of_pericenter_deg": rng.uniform(0, 360),
                    "mean_anomaly_deg": rng.uniform(0, 360),
                    "bstar_per_earth_radius": rng.uniform(0, 1e-4),
                    "mean_motion_dot_rev_per_day2": 0.0,
                    "mean_motion_ddot_rev_per_day3": 0.0,
                    "source": "drill",
                    "imported_at": EPOCH,
                    "provenance": "feed",
                    "uploaded_by": "system",
                }
            )
        objects.append(
            {
                "catalog_number": number,
                "object_id": f"2020-{n % 999:03d}A",
                "name": f"OBJECT {n}",
                "object_type": "DEBRIS",
                "epoch": EPOCH,
                "regime": "LEO" if mean_motion > 11.25 else "MEO",
                "perigee_altitude_km": 500.0,
                "apogee_altitude_km": 600.0,
                "inclination_deg": inclination,
                "period_min": 1440.0 / mean_motion,
                "created_at": EPOCH,
                "updated_at": EPOCH,
            }
        )
    return objects, sets


async def seed(settings: Settings, volume: Volume, seed_value: int = 17) -> None:
    """Migrate ``settings``' database and fill it with ``volume`` rows."""
    await upgrade_async(settings)
    rng = random.Random(seed_value)
    engine = create_unpooled_engine(settings)
    try:
        fleet = _fleet(volume, rng)
        objects, sets = _catalog(volume, rng)
        async with engine.begin() as connection:
            await _bulk(connection, Organisation, fleet["organisations"])
            await _bulk(connection, User, fleet["users"])
            await _bulk(connection, Spacecraft, fleet["spacecraft"])
            await _bulk(connection, TelemetryParameter, fleet["parameters"])
            await _bulk(connection, ConjunctionEvent, fleet["events"])
            await _bulk(connection, CatalogObject, objects)
            await _bulk(connection, ElementSetRecord, sets)
        # Samples in transactions of ~100k rows, as ingest writes them in batches.
        parameters = len(fleet["parameters"])
        step = max(1, 100_000 // max(1, volume.samples_per_parameter))
        for first in range(1, parameters + 1, step):
            ids = range(first, min(parameters, first + step - 1) + 1)
            async with engine.begin() as connection:
                await _bulk(
                    connection, TelemetrySample, _samples(ids, volume.samples_per_parameter, rng)
                )
        # The audit chain through the service's own writer (hash-chained under the key).
        organisations = [org["id"] for org in fleet["organisations"]]
        sessionmaker = create_sessionmaker(engine)
        for first in range(0, volume.audit_entries, 500):
            async with session_scope(sessionmaker) as session:
                for n in range(first, min(volume.audit_entries, first + 500)):
                    await record(
                        session,
                        AuditEvent(
                            action=("spacecraft.update", "telemetry.ingest", "auth.login")[n % 3],
                            actor=f"user:{n % 50}",
                            organisation_id=organisations[n % len(organisations)],
                            object_type="spacecraft",
                            object_id=str(n),
                            client_address="192.0.2.10",
                            request_id=f"req-{n}",
                            details={"n": n, "note": "drill"},
                        ),
                    )
    finally:
        await engine.dispose()


# ------------------------------------------------------------------ comparing


def _tables(sync_connection: Any) -> list[str]:
    return sorted(inspect(sync_connection).get_table_names())


async def table_checksums(settings: Settings) -> dict[str, TableSum]:
    """Every table's row count and an order-independent checksum of its rows.

    Each row is hashed (SHA-256 of the repr of its values as the driver returns them, so
    both sides of a comparison must be the same kind of database); the table's checksum is
    the sum of the row hashes modulo 2**256, which does not depend on the order rows come
    back in and, unlike XOR, still counts a row that appears twice.
    """
    engine = create_unpooled_engine(settings)
    sums: dict[str, TableSum] = {}
    try:
        async with engine.connect() as connection:
            for name in await connection.run_sync(_tables):
                total, count = 0, 0
                result = await connection.stream(text(f'SELECT * FROM "{name}"'))  # noqa: S608
                columns = ",".join(result.keys())
                async for partition in result.partitions(10_000):
                    for row in partition:
                        digest = hashlib.sha256(repr(tuple(row)).encode()).digest()
                        total = (total + int.from_bytes(digest, "big")) % (1 << 256)
                        count += 1
                prefix = hashlib.sha256(columns.encode()).hexdigest()[:8]
                sums[name] = TableSum(count, f"{prefix}:{total:064x}")
            if connection.dialect.name == "postgresql":
                # Where each sequence stands: a restore that rewound one would hand out ids
                # that already exist.
                positions = await connection.execute(
                    text(
                        "SELECT sequencename, last_value FROM pg_sequences "
                        "WHERE schemaname = current_schema() ORDER BY 1"
                    )
                )
                listed = [tuple(row) for row in positions]
                sums["(sequences)"] = TableSum(
                    len(listed), hashlib.sha256(repr(listed).encode()).hexdigest()
                )
    finally:
        await engine.dispose()
    return sums


async def verify_audit_chain(settings: Settings) -> ChainReport:
    engine = create_unpooled_engine(settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            return await verify_chain(session)
    finally:
        await engine.dispose()


async def tamper_one_sample(settings: Settings) -> None:
    """Change one telemetry value by one part in a billion: what a checksum must still see."""
    engine = create_unpooled_engine(settings)
    try:
        async with engine.begin() as connection:
            row = (
                await connection.execute(
                    text("SELECT parameter_id, time FROM telemetry_samples ORDER BY 1, 2 LIMIT 1")
                )
            ).one()
            await connection.execute(
                text(
                    "UPDATE telemetry_samples SET value = value * (1 + 1e-9) "
                    "WHERE parameter_id = :p AND time = :t"
                ),
                {"p": row[0], "t": row[1]},
            )
    finally:
        await engine.dispose()


# ------------------------------------------------------------------ the drill


async def drill(
    source: Settings,
    target: Settings,
    volume: Volume,
    workdir: Path,
    *,
    tamper: bool = False,
) -> DrillResult:
    """Seed ``source``, back it up, restore into the fresh ``target``, compare, verify."""
    started = time.perf_counter()
    await seed(source, volume)
    seeded = time.perf_counter()
    original = await table_checksums(source)
    archive = workdir / ("drill.sqlite3" if source.is_sqlite else "drill.pgdump")

    t0 = time.perf_counter()
    await asyncio.to_thread(backup, source, archive)
    t1 = time.perf_counter()
    await asyncio.to_thread(restore, target, archive)
    t2 = time.perf_counter()
    restored = await table_checksums(target)
    t3 = time.perf_counter()
    chain = await verify_audit_chain(target)
    t4 = time.perf_counter()
    result = DrillResult(
        database="SQLite" if source.is_sqlite else "PostgreSQL",
        volume=volume,
        source=original,
        restored=restored,
        chain=chain,
        backup_bytes=archive.stat().st_size,
        seconds={
            "seed": seeded - started,
            "backup": t1 - t0,
            "restore": t2 - t1,
            "backup_and_restore": t2 - t0,
            "compare": t3 - t2,
            "verify_chain": t4 - t3,
            "recovery": t4 - t0,
        },
    )
    if tamper:
        await tamper_one_sample(target)
        tampered = await table_checksums(target)
        result.tampered_tables = sorted(n for n in original if original[n] != tampered.get(n))
    return result


# ------------------------------------------------------------------ command line


def _report(result: DrillResult) -> str:
    s = result.seconds
    tables = {name: t for name, t in result.source.items() if not name.startswith("(")}
    rows = sum(t.rows for t in tables.values())
    status = "identical" if result.identical else f"DIFFER: {result.differing_tables()}"
    chain = (
        f"intact ({result.chain.entries_checked:,} entries)"
        if result.chain.ok
        else f"BROKEN: {[f.describe() for f in result.chain.findings[:3]]}"
    )
    return (
        f"| {result.database} | {rows:,} rows in {len(tables)} tables | "
        f"{result.backup_bytes / 1e6:,.1f} MB | {s['backup']:.1f} | {s['restore']:.1f} | "
        f"**{s['backup_and_restore']:.1f}** | {s['compare']:.1f} | {s['verify_chain']:.1f} | "
        f"**{s['recovery']:.1f}** | {status}; chain {chain} |"
    )


def _largest(result: DrillResult) -> str:
    top = sorted(result.source.items(), key=lambda item: -item[1].rows)[:5]
    return ", ".join(f"{name} {table.rows:,}" for name, table in top)


def _section(results: list[DrillResult], command: str, started: datetime) -> str:
    load = os.getloadavg()
    lines = [
        "",
        HEADING,
        "",
        f"Command (repo root): `{command}` (`make backup-drill DRILL_ARGS=--write-results`).",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores (`nproc`), "
        f"{cpu_model()}; load average {load[0]:.2f} at the end; "
        f"Python {platform.python_version()}; "
        "other work trees' tests shared the machine.",
        f"- Volume: {results[0].volume.describe()}.",
        "- Backup: `astroshield.backup.backup` (what `astroshield db backup` runs): SQLite's "
        "online backup API; `pg_dump --format=custom`. Restore: `astroshield.backup.restore` "
        "into a database created for the drill (`pg_restore --single-transaction`).",
        "- Compared: every table's row count and an order-independent checksum of every row "
        "(sum of per-row SHA-256 mod 2^256); then the restored audit chain verified with the "
        "service's verifier (`audit.verify.verify_chain`). Times in seconds; *recovery* = "
        "backup + restore + compare + chain verification.",
        "",
        "| database | data | backup file | backup s | restore s | backup+restore s "
        "| compare s | verify chain s | recovery s | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *(_report(r) for r in results),
        "",
        *(f"Largest tables ({r.database}): {_largest(r)}." for r in results),
        "",
    ]
    return "\n".join(lines)


async def _run_one(kind: str, volume: Volume, workdir: Path, pg_url: str) -> DrillResult:
    from tests.conftest import settings_for
    from tests.support.databases import fresh_database

    base = "sqlite" if kind == "sqlite" else pg_url

    def settings(url: str) -> Settings:
        return settings_for(url)

    async with (
        fresh_database(base, workdir) as source_url,
        fresh_database(base, workdir) as target_url,
    ):
        return await drill(settings(source_url), settings(target_url), volume, workdir)


async def main_async(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    volume = SCALES[args.scale]
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results: list[DrillResult] = []
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="astroshield-drill-") as tmp:
            print(f"{kind}: seeding {volume.describe()}", flush=True)
            result = await _run_one(kind, volume, Path(tmp), args.pg_url)
        print(_report(result), flush=True)
        results.append(result)
    failed = [r for r in results if not (r.identical and r.chain.ok)]
    command = " ".join([".venv/bin/python benchmarks/backup_drill.py", *sys.argv[1:]])
    section = _section(results, command, started)
    print(section)
    if args.write_results and not failed:
        replace_section(HEADING, section.lstrip("\n"))
        print("written to benchmarks/RESULTS.md")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", choices=sorted(SCALES), default="realistic")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--write-results", action="store_true")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
