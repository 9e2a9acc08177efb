"""Retention of the archive: raw samples past their retention become minute aggregates,
minute aggregates past theirs become hour aggregates. Run by the retention job for every
organisation at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.telemetry.partitions import (
    PARTITIONS_AHEAD_DAYS,
    drop_expired_partitions,
    ensure_partitions,
)
from astroshield.telemetry.repository.retention import ReductionRepository

REDUCTION_WINDOW = timedelta(hours=6)
# Minute aggregates are 60x sparser than 1 Hz samples: a week of them per statement
# holds about as many rows as the raw reduction's window.
HOUR_REDUCTION_WINDOW = timedelta(days=7)


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def reduce_raw_samples(
    session: AsyncSession,
    cutoff: datetime,
    *,
    dry_run: bool,
    partitions_ahead_days: int = PARTITIONS_AHEAD_DAYS,
) -> int:
    """Fold raw samples older than ``cutoff`` (rounded down to a whole minute) into minute
    aggregates and delete them, a few hours of data per statement so that each one's
    locks and memory stay bounded. Returns the samples reduced (or that would be)."""
    repository = ReductionRepository(session)
    cutoff = _floor_minute(cutoff)
    if dry_run:
        return await repository.count_samples_before(cutoff)
    # PostgreSQL: the days ahead get their partitions, whole expired days are dropped
    # after aggregation; what remains before the cutoff is reduced row by row.
    await ensure_partitions(session, datetime.now(UTC).date(), partitions_ahead_days)
    reduced = await drop_expired_partitions(session, cutoff, REDUCTION_WINDOW)
    while (oldest := await repository.oldest_sample_before(cutoff)) is not None:
        window_start = _floor_minute(oldest)
        window_stop = min(cutoff, window_start + REDUCTION_WINDOW)
        reduced += await repository.reduce_to_minutes(window_start, window_stop)
    return reduced


async def reduce_minute_aggregates(
    session: AsyncSession, cutoff: datetime, *, dry_run: bool
) -> int:
    """Fold minute aggregates older than ``cutoff`` (rounded down to a whole hour) into hour
    aggregates and delete them, a window at a time like ``reduce_raw_samples``. Returns the
    minute aggregates reduced (or that would be)."""
    repository = ReductionRepository(session)
    cutoff = _floor_hour(cutoff)
    if dry_run:
        return await repository.count_minute_aggregates_before(cutoff)
    reduced = 0
    while (oldest := await repository.oldest_minute_aggregate_before(cutoff)) is not None:
        window_start = _floor_hour(oldest)
        window_stop = min(cutoff, window_start + HOUR_REDUCTION_WINDOW)
        reduced += await repository.reduce_to_hours(window_start, window_stop)
    return reduced
