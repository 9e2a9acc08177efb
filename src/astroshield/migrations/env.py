"""Alembic environment: async engine from settings, batch mode on SQLite."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from astroshield.config import Settings
from astroshield.db import UTCDateTime, create_unpooled_engine
from astroshield.models import metadata

config = context.config


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import application types: they outlive them.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    caller_transaction = connection.in_transaction()
    if sqlite:
        # Batch mode alters a table by copying it and dropping the old one; with foreign
        # keys on, that drop cascades into every child row (a spacecraft rebuild emptied its
        # status history). SQLite's documented procedure: keys off while altering, then
        # foreign_key_check. The pragma must run before any transaction writes.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        if not caller_transaction:
            connection.commit()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(f"migration left rows with dangling foreign keys in {tables}")


async def _run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    settings = Settings(database_url=url) if url else Settings()
    engine = create_unpooled_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    asyncio.run(_run_online())
