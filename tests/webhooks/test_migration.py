"""hook00000001: upgrade adds the two webhook tables with their constraints, downgrade
removes them and nothing else, upgrade again restores them."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from astroshield.db import create_unpooled_engine
from astroshield.migrate import alembic_config, downgrade_async, upgrade_async
from tests.conftest import settings_for

TABLES = {"webhook_subscriptions", "webhook_deliveries"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_downgrade_upgrade(scratch_database_url: str) -> None:
    settings = settings_for(scratch_database_url)
    engine = create_unpooled_engine(settings)
    try:
        await upgrade_async(settings, "hook00000001")
        async with engine.connect() as connection:
            upgraded = await connection.run_sync(_tables)
        assert upgraded >= TABLES
        with pytest.raises(IntegrityError):  # constraints live in the schema
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO webhook_deliveries (id, subscription_id, organisation_id, "
                        "event_sequence, event_id, event_type, status, attempts, created_at) "
                        "VALUES ('00000000-0000-0000-0000-000000000001', "
                        "'00000000-0000-0000-0000-000000000002', "
                        "'00000000-0000-0000-0000-000000000003', 1, "
                        "'00000000-0000-0000-0000-000000000004', 'alert.changed', 'lost', 0, "
                        "CURRENT_TIMESTAMP)"
                    )
                )

        down = ScriptDirectory.from_config(alembic_config(settings)).get_revision("hook00000001")
        await downgrade_async(settings, str(down.down_revision))
        async with engine.connect() as connection:
            downgraded = await connection.run_sync(_tables)
        assert downgraded == upgraded - TABLES

        await upgrade_async(settings, "hook00000001")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == upgraded
    finally:
        await engine.dispose()
