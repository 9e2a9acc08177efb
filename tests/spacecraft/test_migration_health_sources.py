"""The health-sources migration on the run's database (SQLite or PostgreSQL): spacecraft
and status history written before it keep their reported health, as ``report``."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import text

from astroshield.db import create_unpooled_engine
from astroshield.migrate import alembic_config, downgrade_async, upgrade_async
from tests.conftest import settings_for

REVISION = "stat00000001"
ORGANISATION = "00000000-0000-0000-0000-0000000000a1"
REPORTED = "00000000-0000-0000-0000-0000000000b1"
SILENT = "00000000-0000-0000-0000-0000000000b2"


def _spacecraft(spacecraft_id: str, health: str, reported_at: str) -> str:
    return (
        "INSERT INTO spacecraft (id, organisation_id, name, mode, health, created_at, "
        f"updated_at, status_reported_at) VALUES ('{spacecraft_id}', '{ORGANISATION}', "
        f"'sat {spacecraft_id[-2:]}', 'operational', '{health}', CURRENT_TIMESTAMP, "
        f"CURRENT_TIMESTAMP, {reported_at})"
    )


async def test_existing_status_becomes_report_health_and_back(scratch_database_url: str) -> None:
    settings = settings_for(scratch_database_url)
    script = ScriptDirectory.from_config(alembic_config(settings))
    before = script.get_revision(REVISION).down_revision
    assert isinstance(before, str)
    await upgrade_async(settings, before)
    engine = create_unpooled_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO organisations (id, name, slug, created_at) VALUES "
                    f"('{ORGANISATION}', 'org', 'org', CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(text(_spacecraft(REPORTED, "degraded", "CURRENT_TIMESTAMP")))
            await connection.execute(text(_spacecraft(SILENT, "unknown", "NULL")))
            await connection.execute(
                text(
                    "INSERT INTO spacecraft_status_reports (id, spacecraft_id, reported_at, "
                    "mode, health, source, created_at) VALUES "
                    f"('00000000-0000-0000-0000-0000000000c1', '{REPORTED}', CURRENT_TIMESTAMP, "
                    "'operational', 'degraded', 'api', CURRENT_TIMESTAMP)"
                )
            )

        await upgrade_async(settings, REVISION)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT health, health_source, reported_health, telemetry_health "
                    "FROM spacecraft ORDER BY name"
                )
            )
            assert [tuple(row) for row in rows] == [
                ("degraded", "report", "degraded", None),
                ("unknown", "none", None, None),
            ]
            sources = await connection.execute(
                text("SELECT source, reason FROM spacecraft_status_reports")
            )
            assert [tuple(row) for row in sources] == [("report", None)]

        await downgrade_async(settings, before)
        async with engine.connect() as connection:
            healths = await connection.execute(text("SELECT health FROM spacecraft ORDER BY name"))
            assert healths.scalars().all() == ["degraded", "unknown"]
            sources = await connection.execute(text("SELECT source FROM spacecraft_status_reports"))
            assert sources.scalars().all() == ["api"]
    finally:
        await engine.dispose()
