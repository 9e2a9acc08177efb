"""The restore drill (benchmarks/backup_drill.py, `make backup-drill`) at a small scale, on
the run's database: a backup restored into a fresh database is the original, table by table,
its audit chain verifies, and one changed value in the restored copy is caught."""

from __future__ import annotations

from pathlib import Path

from benchmarks.backup_drill import SCALES, drill, table_checksums

from tests.conftest import settings_for
from tests.support.databases import fresh_database


async def test_a_restored_backup_is_the_original_and_a_tampered_one_is_caught(
    scratch_database_url: str, base_database_url: str, tmp_path: Path
) -> None:
    async with fresh_database(base_database_url, tmp_path) as target_url:
        result = await drill(
            settings_for(scratch_database_url),
            settings_for(target_url),
            SCALES["small"],
            tmp_path,
            tamper=True,
        )
    assert result.identical, result.differing_tables()
    # Every seeded kind of data made it into the comparison, with its rows.
    volume = SCALES["small"]
    rows = {name: table.rows for name, table in result.source.items()}
    spacecraft = volume.organisations * volume.spacecraft_per_organisation
    assert rows["organisations"] == volume.organisations
    assert rows["users"] == volume.organisations * volume.users_per_organisation
    assert rows["spacecraft"] == spacecraft
    assert rows["telemetry_samples"] == (
        spacecraft * volume.parameters_per_spacecraft * volume.samples_per_parameter
    )
    assert rows["catalog_element_sets"] == volume.catalog_objects * volume.element_sets_per_object
    assert rows["conjunction_events"] == spacecraft * volume.events_per_spacecraft
    assert rows["audit_log"] == volume.audit_entries
    assert rows["alembic_version"] == 1
    assert result.chain.ok and result.chain.entries_checked == volume.audit_entries
    # One sample changed by one part in a billion: same row counts, that table's sum differs.
    assert result.tampered_tables == ["telemetry_samples"]
    assert result.backup_bytes > 0 and result.seconds["recovery"] > 0


async def test_checksums_do_not_depend_on_row_order_but_count_duplicates(
    scratch_database_url: str,
) -> None:
    from sqlalchemy import text

    from astroshield.db import create_unpooled_engine

    settings = settings_for(scratch_database_url)
    engine = create_unpooled_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE drill_probe (v INTEGER)"))
            await connection.execute(text("INSERT INTO drill_probe VALUES (1), (2), (3)"))
        first = (await table_checksums(settings))["drill_probe"]
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM drill_probe"))
            await connection.execute(text("INSERT INTO drill_probe VALUES (3), (1), (2)"))
        assert (await table_checksums(settings))["drill_probe"] == first
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO drill_probe VALUES (1)"))
        again = (await table_checksums(settings))["drill_probe"]
        assert again.rows == 4 and again.checksum != first.checksum
    finally:
        await engine.dispose()
