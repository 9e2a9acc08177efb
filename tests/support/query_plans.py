"""Query plans of the hot list and time-range queries at volume (PostgreSQL).

``fill`` writes realistic-shaped rows with ``generate_series`` in SQL (samples in time
order, as ingest writes them; catalog objects with a history of element sets; conjunction
events with their CDMs), then ANALYZEs. ``plans`` calls the repository functions
themselves, captures the SQL and parameters each one sends (a cursor-execute listener), and
EXPLAINs exactly that, so a change to a repository's statement is what gets checked.
Used by tests/test_query_plans.py (small volume) and benchmarks/query_plans.py (the
issue's volume).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from astroshield.catalog.repository import CatalogFilter, CatalogRepository
from astroshield.conjunction.repository import ConjunctionRepository, UpkeepRepository
from astroshield.conjunction.schemas import EventFilter
from astroshield.telemetry.repository.archive import TelemetryRepository
from astroshield.telemetry.repository.retention import ReductionRepository

# Tables whose full scan is a bug at volume (samples: the parent and every partition).
LARGE_TABLES = frozenset(
    {
        "telemetry_samples",
        "catalog_objects",
        "catalog_element_sets",
        "conjunction_events",
        "conjunction_cdms",
    }
)
# Below this many rows (pg_class.reltuples) a sequential scan is the right plan.
LARGE_ROWS = 10_000


@dataclass(frozen=True)
class Volume:
    samples: int  # telemetry samples: `parameters` parameters at 1 Hz
    parameters: int
    objects: int
    sets_per_object: int
    events: int  # conjunction events, each with `cdms_per_event` CDMs
    cdms_per_event: int = 1
    organisations: int = 10

    @property
    def seconds(self) -> int:
        return self.samples // self.parameters


@dataclass
class Fixture:
    """Ids of the filled rows the queries are asked about."""

    start: datetime
    organisation_id: uuid.UUID
    spacecraft_id: uuid.UUID
    parameter_ids: list[int]
    event_id: uuid.UUID
    pair: tuple[str, str]


@dataclass
class Plan:
    name: str
    sql: str
    plan: dict[str, Any]
    scans: list[tuple[str, str]] = field(default_factory=list)  # (node type, relation)

    @property
    def top(self) -> dict[str, Any]:
        return dict(self.plan["Plan"])


def _number(i: str) -> str:
    """Catalog numbers as stored: normalised, no leading zeros."""
    return f"(({i})::text)"


async def fill(engine: AsyncEngine, volume: Volume, start: datetime) -> Fixture:
    """Rows of ``volume`` with samples from ``start`` at 1 Hz; then ANALYZE."""
    organisations = [uuid.uuid4() for _ in range(volume.organisations)]
    async with engine.begin() as connection:

        async def run(sql: str, **params: Any) -> None:
            # :start is a timestamptz (asyncpg infers no type for it in arithmetic).
            sql = sql.replace(":start", "CAST(:start AS timestamptz)")
            await connection.execute(text(sql), params)

        for index, organisation in enumerate(organisations):
            await run(
                "INSERT INTO organisations (id, name, slug, created_at) "
                "VALUES (:id, :name, :name, now())",
                id=organisation,
                name=f"plan-org-{index}",
            )
            await run(
                "INSERT INTO spacecraft (id, organisation_id, name, mode, health, created_at, "
                "updated_at, health_source) SELECT gen_random_uuid(), :org, 'sc-' || n, "
                "'operational', 'nominal', now(), now(), 'none' FROM generate_series(1, 5) n",
                org=organisation,
            )
        await run(
            "INSERT INTO telemetry_parameters (spacecraft_id, name, type, created_at, "
            "updated_at) SELECT s.id, 'p' || n, 'float', now(), now() FROM spacecraft s, "
            "generate_series(1, :per) n",
            per=max(1, volume.parameters // (5 * volume.organisations)),
        )
        # 1 Hz per parameter, written second by second as ingest does (time-correlated).
        await run(
            "INSERT INTO telemetry_samples (parameter_id, time, value) "
            "SELECT p.id, :start + s * interval '1 second', sin(s * 0.001) + p.id "
            "FROM generate_series(0, :seconds - 1) s "
            "CROSS JOIN (SELECT id FROM telemetry_parameters ORDER BY id LIMIT :parameters) p",
            start=start,
            seconds=volume.seconds,
            parameters=volume.parameters,
        )
        # What the ingest keeps beside the samples it stores.
        await run(
            "INSERT INTO telemetry_hour_summaries (parameter_id, hour_start, count, min, max, "
            "total) SELECT parameter_id, date_trunc('hour', time, 'UTC'), count(*), "
            "min(value), max(value), sum(value) FROM telemetry_samples GROUP BY 1, 2"
        )
        await run(
            "INSERT INTO catalog_objects (catalog_number, name, epoch, regime, "
            "perigee_altitude_km, apogee_altitude_km, inclination_deg, period_min, "
            f"created_at, updated_at) SELECT {_number('n')}, 'OBJECT ' || n, "
            ":start, CASE WHEN n % 10 = 0 THEN 'GEO' ELSE 'LEO' END, 300 + n % 1500, "
            "320 + n % 1700, n % 180, 90 + n % 30, now(), now() "
            "FROM generate_series(1, :objects) n",
            start=start,
            objects=volume.objects,
        )
        await run(
            "INSERT INTO catalog_element_sets (catalog_number, epoch, classification, "
            "mean_motion_rev_per_day, eccentricity, inclination_deg, ra_of_asc_node_deg, "
            "arg_of_pericenter_deg, mean_anomaly_deg, bstar_per_earth_radius, "
            "mean_motion_dot_rev_per_day2, mean_motion_ddot_rev_per_day3, ephemeris_type, "
            "element_set_number, rev_at_epoch, source, imported_at, provenance, uploaded_by) "
            f"SELECT {_number('n')}, :start - k * interval '8 hours', 'U', 15.5, 0.001, "
            "n % 180, 0, 0, 0, 0, 0, 0, 0, k, 0, 'celestrak.csv', now(), 'feed', 'feed' "
            "FROM generate_series(0, :sets - 1) k CROSS JOIN generate_series(1, :objects) n",
            start=start,
            sets=volume.sets_per_object,
            objects=volume.objects,
        )
        # Events over a year around the start, a pair each, spread over the organisations.
        await run(
            "INSERT INTO conjunction_events (id, organisation_id, spacecraft_id, "
            "primary_catalog_number, secondary_catalog_number, tca, tca_key, miss_distance_m, "
            "tier, tier_basis, status, source, created_at, updated_at) "
            "SELECT gen_random_uuid(), s.organisation_id, s.id, "
            f"{_number('1 + e % 500')}, {_number('501 + e % 29000')}, "
            ":start + (e - :events / 2) * interval '5 minutes', "
            ":start + (e - :events / 2) * interval '5 minutes', 100 + e % 5000, "
            "(ARRAY['red', 'yellow', 'green'])[1 + e % 3], 'pc', "
            "CASE WHEN e < :events * 0.45 THEN 'closed' ELSE 'open' END, 'cdm', now(), now() "
            "FROM generate_series(0, :events - 1) e "
            "JOIN (SELECT id, organisation_id, row_number() OVER (ORDER BY id) - 1 AS i "
            "FROM spacecraft) s ON s.i = e % (SELECT count(*) FROM spacecraft)",
            start=start,
            events=volume.events,
        )
        await run(
            "INSERT INTO conjunction_cdms (id, event_id, organisation_id, message_id, "
            "originator, creation_date, tca, miss_distance_m, hbr_m, report, raw, "
            "content_sha256, format, source, received_at) "
            "SELECT gen_random_uuid(), e.id, e.organisation_id, e.id::text || '-' || k, "
            "'CSpOC', e.tca - (k + 1) * interval '8 hours', e.tca, e.miss_distance_m, 10, "
            "'{}', 'CCSDS_CDM_VERS = 1.0', md5(e.id::text || k), 'kvn', 'upload', now() "
            "FROM conjunction_events e CROSS JOIN generate_series(0, :per - 1) k",
            per=volume.cdms_per_event,
        )
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("ANALYZE"))
        organisation = organisations[0]
        spacecraft_id = (
            await autocommit.execute(
                text("SELECT id FROM spacecraft WHERE organisation_id = :o ORDER BY id LIMIT 1"),
                {"o": organisation},
            )
        ).scalar_one()
        parameter_ids = list(
            (
                await autocommit.execute(
                    text(
                        "SELECT p.id FROM telemetry_parameters p JOIN (SELECT DISTINCT "
                        "parameter_id FROM telemetry_samples WHERE time = :start) s "
                        "ON s.parameter_id = p.id WHERE p.spacecraft_id = :s ORDER BY p.id"
                    ),
                    {"s": spacecraft_id, "start": start},
                )
            ).scalars()
        )
        row = (
            await autocommit.execute(
                text(
                    "SELECT id, primary_catalog_number, secondary_catalog_number "
                    "FROM conjunction_events WHERE organisation_id = :o AND status = 'open' "
                    "ORDER BY tca LIMIT 1"
                ),
                {"o": organisation},
            )
        ).one()
    return Fixture(start, organisation, spacecraft_id, parameter_ids, row[0], (row[1], row[2]))


Query = Callable[[AsyncSession, Fixture], Awaitable[Any]]


def _queries(fixture: Fixture) -> Iterator[tuple[str, Query]]:
    """Every hot list and time-range query, by the repository function that issues it."""
    start, org = fixture.start, fixture.organisation_id
    day = timedelta(days=1)
    first = fixture.parameter_ids[0]

    def telemetry(s: AsyncSession) -> TelemetryRepository:
        return TelemetryRepository(s)

    yield "telemetry.parameters", lambda s, f: telemetry(s).parameters(f.spacecraft_id)
    yield (
        "telemetry.samples (range, ascending page)",
        lambda s, f: telemetry(s).samples(
            first, start=start, stop=start + day, after=None, descending=False, limit=1000
        ),
    )
    yield (
        "telemetry.samples (newest first, no range)",
        lambda s, f: telemetry(s).samples(
            first, start=None, stop=None, after=None, descending=True, limit=1000
        ),
    )
    yield (
        "telemetry.buckets (500 over a day)",
        lambda s, f: telemetry(s).buckets(first, start, start + day, 500),
    )
    yield (
        "telemetry.buckets (500 over 120 days: hour summaries)",
        lambda s, f: telemetry(s).buckets(first, start + day - 120 * day, start + day, 500),
    )
    yield "telemetry.latest (per parameter)", lambda s, f: telemetry(s).latest(f.spacecraft_id)

    async def export(s: AsyncSession, f: Fixture) -> None:
        chunks = telemetry(s).stream_samples(
            f.parameter_ids[:3], start, start + timedelta(hours=1), chunk_rows=10_000
        )
        async for _ in chunks:
            break

    yield "telemetry.stream_samples (export, 3 parameters, 1 h)", export
    cutoff = start - timedelta(days=90)
    yield (
        "retention.count_samples_before",
        lambda s, f: ReductionRepository(s).count_samples_before(cutoff),
    )
    yield (
        "retention.oldest_sample_before",
        lambda s, f: ReductionRepository(s).oldest_sample_before(cutoff),
    )

    def catalog(s: AsyncSession) -> CatalogRepository:
        return CatalogRepository(s, org)

    yield "catalog.element_set_at", lambda s, f: catalog(s).element_set_at("00042", start)
    yield (
        "catalog.latest_element_sets (100 objects)",
        lambda s, f: catalog(s).latest_element_sets([f"{n:05d}" for n in range(1, 101)]),
    )
    yield (
        "catalog.history (one object, 30 days)",
        lambda s, f: catalog(s).history("00042", start - 30 * day, start),
    )
    yield (
        "catalog.list_element_sets (page of 50)",
        lambda s, f: catalog(s).list_element_sets(
            "00042", start=None, stop=None, after=None, limit=50
        ),
    )
    yield "catalog.count_element_sets", lambda s, f: catalog(s).count_element_sets("00042")
    yield (
        "catalog.search_objects (LEO page of 50)",
        lambda s, f: catalog(s).search_objects(CatalogFilter(regime="LEO"), after=None, limit=50),
    )
    yield (
        "catalog.search_objects (page after a number)",
        lambda s, f: catalog(s).search_objects(CatalogFilter(), after="15000", limit=50),
    )

    def conjunction(s: AsyncSession) -> ConjunctionRepository:
        return ConjunctionRepository(s, org)

    yield (
        "conjunction.list_events (first page)",
        lambda s, f: conjunction(s).list_events(EventFilter(), after=None, limit=50),
    )
    yield (
        "conjunction.list_events (TCA window, red)",
        lambda s, f: conjunction(s).list_events(
            EventFilter(tier="red", tca_after=start, tca_before=start + 7 * day),
            after=None,
            limit=50,
        ),
    )
    yield (
        "conjunction.list_events (one spacecraft)",
        lambda s, f: conjunction(s).list_events(
            EventFilter(spacecraft_id=f.spacecraft_id), after=None, limit=50
        ),
    )
    yield (
        "conjunction.latest_open_event_between",
        lambda s, f: conjunction(s).latest_open_event_between(*f.pair, start),
    )
    yield (
        "conjunction.find_event",
        lambda s, f: conjunction(s).find_event(*f.pair, start, timedelta(hours=1)),
    )
    yield "conjunction.cdms_of_event", lambda s, f: conjunction(s).cdms_of_event(f.event_id)
    yield "conjunction.latest_cdm", lambda s, f: conjunction(s).latest_cdm(f.event_id)
    yield (
        "conjunction.passed_open_events (one organisation)",
        lambda s, f: conjunction(s).passed_open_events(start - 30 * day),
    )
    yield (
        "conjunction.passed_open_events (upkeep, every organisation)",
        lambda s, f: UpkeepRepository(s).passed_open_events(start - 30 * day),
    )


def _scans(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "Relation Name" in node:
        yield node["Node Type"], node["Relation Name"]
    for child in node.get("Plans", []):
        yield from _scans(child)


async def plans(
    sessionmaker: async_sessionmaker[AsyncSession], fixture: Fixture, *, analyze: bool
) -> list[Plan]:
    """EXPLAIN (FORMAT JSON) of every SELECT each query sends, with its own parameters."""
    found: list[Plan] = []
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    for name, query in _queries(fixture):
        sent: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                sent.append((statement, parameters))  # noqa: B023

        async with sessionmaker() as session:
            sync_engine = session.get_bind()
            event.listen(sync_engine, "before_cursor_execute", capture)
            try:
                await query(session, fixture)
            finally:
                event.remove(sync_engine, "before_cursor_execute", capture)
            assert sent, f"{name} sent no SELECT"
            for index, (statement, parameters) in enumerate(sent):
                connection = await session.connection()
                result = await connection.exec_driver_sql(
                    f"EXPLAIN ({options}) {statement}", parameters
                )
                document = result.scalar_one()
                plan = (json.loads(document) if isinstance(document, str) else document)[0]
                label = name if len(sent) == 1 else f"{name} [{index + 1}/{len(sent)}]"
                found.append(Plan(label, statement, plan, list(_scans(plan["Plan"]))))
            await session.rollback()
    return found


async def large_relations(engine: AsyncEngine) -> dict[str, float]:
    """Relations counted as large: the tables above and the sample partitions, with their
    row estimates, when they hold at least LARGE_ROWS rows."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.relname, c.reltuples FROM pg_class c "
                "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid "
                "WHERE c.relkind IN ('r', 'p') AND (c.relname = ANY(:names) "
                "OR i.inhparent = to_regclass('telemetry_samples'))"
            ),
            {"names": list(LARGE_TABLES)},
        )
        return {name: float(tuples) for name, tuples in rows if tuples >= LARGE_ROWS}


def sequential_scans(found: list[Plan], large: dict[str, float]) -> list[str]:
    return [
        f"{plan.name}: {node} on {relation} (~{large[relation]:,.0f} rows)"
        for plan in found
        for node, relation in plan.scans
        if node == "Seq Scan" and relation in large
    ]
