from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from astroshield.migrate import current_revision


async def database_revision(engine: AsyncEngine) -> str | None:
    """Round-trips to the database and returns the applied migration revision."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return await current_revision(engine)
