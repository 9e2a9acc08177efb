"""Schema migrations through Alembic: the only way the schema changes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from astroshield.config import Settings
from astroshield.db import create_unpooled_engine, hold_transaction_lock

_MIGRATION_LOCK_KEY = 0x4D494752  # "MIGR"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", "astroshield:migrations")
    config.set_main_option(
        "file_template",
        "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(slug)s",
    )
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def _run_with_connection(settings: Settings, action: Callable[[Config], None]) -> None:
    engine = create_unpooled_engine(settings)
    try:
        async with engine.begin() as connection:
            # Replicas starting together migrate one at a time: the others wait here, then
            # find the schema at head and do nothing.
            await hold_transaction_lock(connection, _MIGRATION_LOCK_KEY)

            def run(sync_connection: Connection) -> None:
                config = alembic_config(settings)
                config.attributes["connection"] = sync_connection
                action(config)

            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade_async(settings: Settings, revision: str = "head") -> None:
    await _run_with_connection(settings, lambda cfg: command.upgrade(cfg, revision))


async def downgrade_async(settings: Settings, revision: str) -> None:
    await _run_with_connection(settings, lambda cfg: command.downgrade(cfg, revision))


def upgrade(settings: Settings, revision: str = "head") -> None:
    asyncio.run(upgrade_async(settings, revision))


def downgrade(settings: Settings, revision: str) -> None:
    asyncio.run(downgrade_async(settings, revision))
