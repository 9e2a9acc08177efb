"""Day partitions of the sample archive (PostgreSQL; SQLite keeps one plain table).

Startup and every retention run create the partitions of today and the days ahead, so
ingest normally writes into a day partition; a sample outside them lands in the default
partition and is never refused. Retention folds a whole expired day into minute
aggregates and then drops its partition, which costs no row deletions, no dead tuples and
no vacuum; rows of a partially expired day (and of the default partition) take the
row-by-row path of ``reductions.reduce_raw_samples``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.db import session_scope
from astroshield.telemetry.repository.partitions import PartitionRepository, day_bounds
from astroshield.telemetry.repository.retention import ReductionRepository

# Also the setting's default (telemetry_partitions_ahead_days).
PARTITIONS_AHEAD_DAYS = 7


async def ensure_partitions(session: AsyncSession, today: date, ahead_days: int) -> list[date]:
    """Create the missing partitions of ``today`` and the ``ahead_days`` after it; returns
    the days created (none on SQLite)."""
    repository = PartitionRepository(session)
    if not await repository.partitioned():
        return []
    await repository.lock()
    existing = set(await repository.days())
    created = []
    for offset in range(ahead_days + 1):
        day = today + timedelta(days=offset)
        if day not in existing:
            await repository.create_day(day)
            created.append(day)
    return created


async def ensure_partitions_ahead(
    sessionmaker: async_sessionmaker[AsyncSession],
    ahead_days: int = PARTITIONS_AHEAD_DAYS,
    *,
    now: datetime | None = None,
) -> list[date]:
    """At startup: the partitions ahead, in their own transaction."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    async with session_scope(sessionmaker) as session:
        return await ensure_partitions(session, today, ahead_days)


async def drop_expired_partitions(
    session: AsyncSession, cutoff: datetime, window: timedelta
) -> int:
    """Fold every day partition wholly before ``cutoff`` into minute aggregates (``window``
    of samples per statement) and drop it. Returns the samples removed."""
    partitions = PartitionRepository(session)
    if not await partitions.partitioned():
        return 0
    await partitions.lock()
    reductions = ReductionRepository(session)
    removed = 0
    for day in await partitions.days():
        start, stop = day_bounds(day)
        if stop > cutoff:
            break
        removed += await partitions.count_day(day)
        window_start = start
        while window_start < stop:
            window_stop = min(stop, window_start + window)
            await reductions.aggregate_to_minutes(window_start, window_stop)
            window_start = window_stop
        await partitions.drop_day(day)
    return removed
