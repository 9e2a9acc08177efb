"""Day partitions of the sample archive on PostgreSQL: created ahead, a default partition
for samples outside them, whole expired days aggregated then dropped by retention."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select, text

import astroshield.app
from astroshield.app import create_app
from astroshield.db import session_scope
from astroshield.retention.service import run_retention
from astroshield.telemetry.models import TelemetryAggregate, TelemetryParameter, TelemetrySample
from astroshield.telemetry.partitions import ensure_partitions, ensure_partitions_ahead
from astroshield.telemetry.repository.partitions import DEFAULT, PartitionRepository
from tests.conftest import Factory, empty_tables, settings_for
from tests.support.databases import is_postgres
from tests.telemetry.support import iso, make_archive, series, stored_counts
from tests.telemetry.test_retention import _check_buckets, _retention


@pytest.fixture(autouse=True)
def _postgres_only(database_url: str) -> None:
    if not is_postgres(database_url):
        pytest.skip("native partitioning is PostgreSQL's; SQLite keeps one plain table")


async def _days(app: FastAPI) -> list[date]:
    async with session_scope(app.state.sessionmaker) as session:
        return await PartitionRepository(session).days()


async def _default_rows(app: FastAPI) -> int:
    async with session_scope(app.state.sessionmaker) as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {DEFAULT}"))).scalar_one())


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
async def far_future_app(database_url: str) -> AsyncIterator[FastAPI]:
    """The app, accepting samples a year ahead, with 10 days of partitions kept ahead."""
    settings = settings_for(
        database_url, telemetry_max_future_s=400 * 86400, telemetry_partitions_ahead_days=10
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        await empty_tables(application.state.engine)


async def test_the_migration_and_the_startup_call_create_partitions_ahead(app: FastAPI) -> None:
    days = await _days(app)
    assert {_today() + timedelta(days=d) for d in range(8)} <= set(days)
    created = await ensure_partitions_ahead(app.state.sessionmaker, 12)
    assert set(created) <= {_today() + timedelta(days=d) for d in range(8, 13)}
    assert {_today() + timedelta(days=d) for d in range(13)} <= set(await _days(app))
    assert await ensure_partitions_ahead(app.state.sessionmaker, 12) == []  # idempotent


@pytest.mark.skipif(
    "ensure_partitions_ahead" not in inspect.getsource(astroshield.app),
    reason="the merger wires telemetry.partitions.ensure_partitions_ahead into app startup",
)
async def test_partitions_exist_ahead_after_startup(far_future_app: FastAPI) -> None:
    assert {_today() + timedelta(days=d) for d in range(11)} <= set(await _days(far_future_app))


async def test_samples_outside_the_partitions_land_in_the_default_one(
    far_future_app: FastAPI,
) -> None:
    transport = httpx.ASGITransport(app=far_future_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        archive = await make_archive(client, Factory(far_future_app))
        future = datetime.combine(_today() + timedelta(days=200), datetime.min.time(), UTC)
        past = datetime.combine(_today() - timedelta(days=30), datetime.min.time(), UTC)
        for sequence, start in enumerate((future, past)):
            response = await archive.post(series("bus_voltage", start, 120), sequence=sequence)
            assert response.status_code in (200, 201), response.text
        assert await _default_rows(far_future_app) == 240

        # A later run that creates the future day's partition moves its samples there.
        async with session_scope(far_future_app.state.sessionmaker) as session:
            assert await ensure_partitions(session, future.date(), 0) == [future.date()]
        assert await _default_rows(far_future_app) == 120
        assert future.date() in await _days(far_future_app)
        for start in (future, past):
            got = await archive.get(
                "/bus_voltage/samples",
                start=iso(start),
                stop=iso(start + timedelta(hours=1)),
                count=1,
            )
            assert got.status_code == 200, got.text
            assert [b["count"] for b in got.json()["buckets"]] == [120]
        assert await stored_counts(far_future_app) == (240, 2)
        async with session_scope(far_future_app.state.sessionmaker) as session:
            await session.execute(text(f"DROP TABLE telemetry_partitions.samples_{future:%Y%m%d}"))


async def test_retention_drops_a_whole_expired_day_after_aggregating_it(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    keep_days = app.state.settings.telemetry_raw_retention_days
    old_day = _today() - timedelta(days=keep_days + 10)
    old_start = datetime.combine(old_day, datetime.min.time(), UTC) + timedelta(hours=5)
    old = series("bus_voltage", old_start, 1800)
    recent = series("bus_voltage", datetime.now(UTC) - timedelta(hours=1), 60)
    await archive.post(old, sequence=1)
    await archive.post(recent, sequence=2)
    async with session_scope(app.state.sessionmaker) as session:
        await ensure_partitions(session, old_day, 0)  # e.g. created ahead back then
    assert old_day in await _days(app)
    assert await _default_rows(app) == 0

    assert await _retention(app, dry_run=True) == 1800
    assert await _retention(app, dry_run=False) == 1800

    assert old_day not in await _days(app)
    assert _today() in await _days(app)
    assert await stored_counts(app) == (60, 2)
    async with session_scope(app.state.sessionmaker) as session:
        minutes = select(func.count()).select_from(TelemetryAggregate)
        assert (await session.execute(minutes)).scalar_one() == 30
    await _check_buckets(archive, old, old_start)  # through the API, from the aggregates
    assert await _retention(app, dry_run=False) == 0


async def test_a_partially_expired_day_and_the_default_partition_lose_only_expired_rows(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    keep_days = app.state.settings.telemetry_raw_retention_days
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cutoff = now - timedelta(days=keep_days)
    straddling = series("bus_voltage", cutoff - timedelta(minutes=10), 1200)  # 10 min each side
    in_default = series("panel_temp", cutoff - timedelta(days=400), 60)
    await archive.post(straddling, sequence=1)
    await archive.post(in_default, sequence=2)
    async with session_scope(app.state.sessionmaker) as session:
        await ensure_partitions(session, cutoff.date(), 0)

    async with session_scope(app.state.sessionmaker) as session:
        report = await run_retention(session, app.state.settings, dry_run=False, now=now)
    assert {r.data_class: r.affected for r in report.classes}["telemetry_raw_samples"] == 660
    assert cutoff.date() in await _days(app)
    assert await stored_counts(app) == (600, 2)
    assert await _default_rows(app) == 0


async def test_deleting_a_parameter_deletes_its_samples_in_every_partition(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    await archive.post(
        series("bus_voltage", datetime.now(UTC) - timedelta(hours=1), 30), sequence=1
    )
    await archive.post(series("bus_voltage", datetime(2001, 1, 1, tzinfo=UTC), 30), sequence=2)
    await archive.post(series("panel_temp", datetime.now(UTC) - timedelta(hours=1), 5), sequence=3)
    async with session_scope(app.state.sessionmaker) as session:
        await session.execute(
            delete(TelemetryParameter).where(TelemetryParameter.name == "bus_voltage")
        )
    async with session_scope(app.state.sessionmaker) as session:
        left = select(func.count()).select_from(TelemetrySample)
        assert (await session.execute(left)).scalar_one() == 5
    assert await _default_rows(app) == 0
