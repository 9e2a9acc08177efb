"""The outbox under retention: a published event is kept ``retention_outbox_days`` for
webhook replays and for anyone reading the outbox, then deleted; an unpublished one is
never deleted (the relay still owes it to the bus)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.events.repository import OutboxRetentionRepository


async def count_published(session: AsyncSession, before: datetime) -> int:
    return await OutboxRetentionRepository(session).count_sent_before(before)


async def delete_published(session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete up to ``batch`` events published before ``before``, oldest first."""
    return await OutboxRetentionRepository(session).delete_sent_before(before, batch)
