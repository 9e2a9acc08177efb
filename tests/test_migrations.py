"""Alembic is the only way the schema changes: round trips and model/migration agreement."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from astroshield.catalog.models import ElementSetRecord
from astroshield.db import UTCDateTime, create_unpooled_engine
from astroshield.migrate import (
    alembic_config,
    current_revision,
    downgrade_async,
    head_revision,
    upgrade_async,
)
from astroshield.models import metadata
from tests.conftest import settings_for
from tests.support.databases import is_postgres


def _schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)
            ),
            "fks": sorted(
                (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
        }
    return schema


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgrade_downgrade_upgrade_round_trip(scratch_database_url: str) -> None:
    settings = settings_for(scratch_database_url)
    engine = create_unpooled_engine(settings)
    try:
        await upgrade_async(settings)
        async with engine.connect() as connection:
            first = await connection.run_sync(_schema)
        assert {
            "organisations",
            "users",
            "spacecraft",
            "spacecraft_status_reports",
            "audit_log",
        } <= set(first)

        await downgrade_async(settings, "base")
        async with engine.connect() as connection:
            emptied = await connection.run_sync(_schema)
        assert set(emptied) <= {"alembic_version"}

        await upgrade_async(settings)
        async with engine.connect() as connection:
            again = await connection.run_sync(_schema)
        assert again == first
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(scratch_database_url: str) -> None:
    """A model change without a migration fails here, not in production."""
    settings = settings_for(scratch_database_url)
    await upgrade_async(settings)
    engine = create_unpooled_engine(settings)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_constraints_are_enforced_by_the_database(scratch_database_url: str) -> None:
    """Check constraints and foreign keys live in the schema, not only in Python."""
    settings = settings_for(scratch_database_url)
    await upgrade_async(settings)
    engine = create_unpooled_engine(settings)
    try:
        for statement in (
            "INSERT INTO organisations (id, name, slug, created_at) VALUES "
            "('00000000-0000-0000-0000-000000000001', 'x', 'x', CURRENT_TIMESTAMP)",
            "INSERT INTO spacecraft "
            "(id, organisation_id, name, mode, health, created_at, updated_at) VALUES "
            "('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000009', "
            "'a', 'unknown', 'unknown', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        ):
            with pytest.raises(IntegrityError):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()


_PROVENANCE_REVISION = "b13e00000005"


def _revision_before(revision: str) -> str:
    script = ScriptDirectory.from_config(alembic_config(settings_for("sqlite+aiosqlite://")))
    down = script.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


_OLD_ELEMENT_SETS = sa.table(
    "catalog_element_sets",
    *(
        sa.column(name, kind)
        for name, kind in {
            "catalog_number": sa.String(),
            "epoch": UTCDateTime(),
            "classification": sa.String(),
            "mean_motion_rev_per_day": sa.Float(),
            "eccentricity": sa.Float(),
            "inclination_deg": sa.Float(),
            "ra_of_asc_node_deg": sa.Float(),
            "arg_of_pericenter_deg": sa.Float(),
            "mean_anomaly_deg": sa.Float(),
            "bstar_per_earth_radius": sa.Float(),
            "mean_motion_dot_rev_per_day2": sa.Float(),
            "mean_motion_ddot_rev_per_day3": sa.Float(),
            "ephemeris_type": sa.Integer(),
            "element_set_number": sa.Integer(),
            "rev_at_epoch": sa.Integer(),
            "source": sa.String(),
            "imported_at": UTCDateTime(),
        }.items()
    ),
)


def _old_set(source: str, epoch: datetime) -> dict[str, Any]:
    return {
        "catalog_number": "25544",
        "epoch": epoch,
        "classification": "U",
        "mean_motion_rev_per_day": 15.5,
        "eccentricity": 0.0009,
        "inclination_deg": 51.6,
        "ra_of_asc_node_deg": 0.0,
        "arg_of_pericenter_deg": 0.0,
        "mean_anomaly_deg": 0.0,
        "bstar_per_earth_radius": 0.0,
        "mean_motion_dot_rev_per_day2": 0.0,
        "mean_motion_ddot_rev_per_day3": 0.0,
        "ephemeris_type": 0,
        "element_set_number": 999,
        "rev_at_epoch": 0,
        "source": source,
        "imported_at": epoch,
    }


async def test_stored_element_sets_become_public_with_their_provenance(
    scratch_database_url: str,
) -> None:
    settings = settings_for(scratch_database_url)
    before = _revision_before(_PROVENANCE_REVISION)
    await upgrade_async(settings, before)
    epochs = [datetime(2024, 10, 31, hour, tzinfo=UTC) for hour in (1, 2, 3)]
    sources = ["celestrak.csv", "upload:text/plain", "Feed:celestrak-gp"]
    engine = create_unpooled_engine(settings)
    organisation = uuid.uuid4()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO catalog_objects (catalog_number, epoch, regime, "
                    "perigee_altitude_km, apogee_altitude_km, inclination_deg, period_min, "
                    "created_at, updated_at) VALUES ('25544', :epoch, 'LEO', 400, 420, 51.6, "
                    "92.9, :epoch, :epoch)"
                ).bindparams(sa.bindparam("epoch", type_=UTCDateTime())),
                {"epoch": epochs[-1]},
            )
            await connection.execute(
                _OLD_ELEMENT_SETS.insert(),
                [_old_set(source, epoch) for source, epoch in zip(sources, epochs, strict=True)],
            )
        await upgrade_async(settings)

        sets = ElementSetRecord.__table__
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(
                    sets.c.source,
                    sets.c.provenance,
                    sets.c.organisation_id,
                    sets.c.uploaded_by,
                    sets.c.published_by,
                ).order_by(sets.c.epoch)
            )
            assert rows.all() == [
                ("celestrak.csv", "platform", None, "unknown", None),
                ("upload:text/plain", "organisation", None, "unknown", "migration"),
                ("Feed:celestrak-gp", "feed", None, "unknown", None),
            ]

        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO organisations (id, name, slug, created_at) "
                    "VALUES (:id, 'A', 'org-a', CURRENT_TIMESTAMP)"
                ).bindparams(sa.bindparam("id", type_=sa.Uuid())),
                {"id": organisation},
            )
            overlay = _old_set("upload:text/plain", epochs[0]) | {
                "provenance": "organisation",
                "organisation_id": organisation,
                "uploaded_by": "someone",
            }
            await connection.execute(sets.insert(), [overlay])  # shares a public epoch
        for row in (
            _old_set("again", epochs[0]) | {"provenance": "platform", "uploaded_by": "cli"},
            overlay | {"epoch": epochs[1], "provenance": "platform"},
            overlay | {"epoch": epochs[1], "provenance": "organisation", "organisation_id": None},
            overlay | {"epoch": epochs[1], "provenance": "cosmic"},
        ):
            with pytest.raises(IntegrityError):
                async with engine.begin() as connection:
                    await connection.execute(sets.insert(), [row])

        await downgrade_async(settings, before)
        async with engine.connect() as connection:
            count = await connection.execute(sa.text("SELECT count(*) FROM catalog_element_sets"))
            assert count.scalar_one() == 3  # the overlay set could not stay
    finally:
        await engine.dispose()


async def test_replicas_upgrading_together_migrate_once(scratch_database_url: str) -> None:
    """Two replicas starting at once on an empty PostgreSQL database: one migrates while
    the other waits for the lock, then finds the schema at head (without the lock both
    would create the same tables and one would fail)."""
    if not is_postgres(scratch_database_url):
        pytest.skip("SQLite has one process migrating its file; the lock is PostgreSQL's")
    settings = settings_for(scratch_database_url)
    await asyncio.gather(upgrade_async(settings), upgrade_async(settings))
    engine = create_unpooled_engine(settings)
    try:
        assert await current_revision(engine) == head_revision(settings)
    finally:
        await engine.dispose()
