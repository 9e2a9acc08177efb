"""The spacecraft hard-body radius migration: down and up again on the run's database
(SQLite or PostgreSQL), keeping the rows, with its range enforced by the database."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from astroshield.db import create_unpooled_engine
from astroshield.migrate import downgrade_async, upgrade_async
from tests.conftest import settings_for
from tests.support.migrations import insert_organisation, revision_before

REVISION = "c21b00000001"
ORGANISATION = "00000000-0000-0000-0000-0000000000a1"


def _insert(spacecraft_id: str, radius: str) -> str:
    return (
        "INSERT INTO spacecraft (id, organisation_id, name, mode, health, created_at, "
        f"updated_at, hard_body_radius_m) VALUES ('{spacecraft_id}', '{ORGANISATION}', "
        f"'sat {spacecraft_id[-2:]}', 'unknown', 'unknown', CURRENT_TIMESTAMP, "
        f"CURRENT_TIMESTAMP, {radius})"
    )


def _columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("spacecraft")}


async def test_downgrade_and_upgrade_keep_spacecraft(scratch_database_url: str) -> None:
    settings = settings_for(scratch_database_url)
    before = revision_before(settings, REVISION)
    await upgrade_async(settings)
    engine = create_unpooled_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert_organisation(ORGANISATION))
            await connection.execute(text(_insert("00000000-0000-0000-0000-0000000000b1", "6.5")))
            await connection.execute(text(_insert("00000000-0000-0000-0000-0000000000b2", "NULL")))
        for radius in ("0", "-1", "500.5"):
            with pytest.raises(IntegrityError):
                async with engine.begin() as connection:
                    await connection.execute(
                        text(_insert("00000000-0000-0000-0000-0000000000b3", radius))
                    )

        await downgrade_async(settings, before)
        async with engine.connect() as connection:
            assert "hard_body_radius_m" not in await connection.run_sync(_columns)
            count = await connection.execute(text("SELECT count(*) FROM spacecraft"))
            assert count.scalar_one() == 2

        await upgrade_async(settings)
        async with engine.connect() as connection:
            assert "hard_body_radius_m" in await connection.run_sync(_columns)
            radii = await connection.execute(text("SELECT hard_body_radius_m FROM spacecraft"))
            assert radii.scalars().all() == [None, None]  # the radius went with the column
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text(_insert("00000000-0000-0000-0000-0000000000b3", "0")))
    finally:
        await engine.dispose()


async def test_rebuilding_spacecraft_keeps_its_status_history(scratch_database_url: str) -> None:
    """SQLite adds the radius's check constraint by rebuilding the table: the rows that refer
    to a spacecraft (here its status history) must survive the rebuild."""
    settings = settings_for(scratch_database_url)
    before = revision_before(settings, REVISION)
    await upgrade_async(settings, before)
    engine = create_unpooled_engine(settings)
    spacecraft_id = "00000000-0000-0000-0000-0000000000b1"
    try:
        async with engine.begin() as connection:
            await connection.execute(insert_organisation(ORGANISATION))
            await connection.execute(
                text(
                    "INSERT INTO spacecraft (id, organisation_id, name, mode, health, "
                    f"created_at, updated_at) VALUES ('{spacecraft_id}', '{ORGANISATION}', "
                    "'sat', 'operational', 'nominal', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO spacecraft_status_reports (id, spacecraft_id, reported_at, "
                    "mode, health, source, created_at) VALUES "
                    f"('00000000-0000-0000-0000-0000000000c1', '{spacecraft_id}', "
                    "CURRENT_TIMESTAMP, 'operational', 'nominal', 'api', CURRENT_TIMESTAMP)"
                )
            )

        await upgrade_async(settings)
        async with engine.connect() as connection:
            reports = await connection.execute(
                text("SELECT spacecraft_id FROM spacecraft_status_reports")
            )
            assert [str(value) for value in reports.scalars()] == [spacecraft_id]
    finally:
        await engine.dispose()
