"""Alembic is the only way the schema changes: round trips and model/migration agreement."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from astroshield.db import create_unpooled_engine
from astroshield.migrate import downgrade_async, upgrade_async
from astroshield.models import metadata
from tests.conftest import settings_for


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
