"""SQL of telemetry retention: raw samples folded into minute aggregates, minute
aggregates into hour aggregates, each merged with what is already there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.telemetry.models import (
    AggregateColumns,
    TelemetryAggregate,
    TelemetryHourAggregate,
    TelemetrySample,
)


class ReductionRepository:
    """Across every organisation: retention is one policy for the whole archive."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def count_samples_before(self, cutoff: datetime) -> int:
        statement = select(func.count()).where(TelemetrySample.time < cutoff)
        return int((await self.session.execute(statement)).scalar_one())

    async def oldest_sample_before(self, cutoff: datetime) -> datetime | None:
        statement = select(func.min(TelemetrySample.time)).where(TelemetrySample.time < cutoff)
        value: datetime | None = (await self.session.execute(statement)).scalar_one()
        return value

    async def count_minute_aggregates_before(self, cutoff: datetime) -> int:
        statement = select(func.count()).where(TelemetryAggregate.bucket_start < cutoff)
        return int((await self.session.execute(statement)).scalar_one())

    async def oldest_minute_aggregate_before(self, cutoff: datetime) -> datetime | None:
        aggregate = TelemetryAggregate
        statement = select(func.min(aggregate.bucket_start)).where(aggregate.bucket_start < cutoff)
        value: datetime | None = (await self.session.execute(statement)).scalar_one()
        return value

    def _truncate(self, time_column: Any, unit: str) -> ColumnElement[Any]:
        if self._postgres:
            # In UTC whatever the session's TimeZone: hours of a +05:30 zone are not UTC's.
            return func.date_trunc(unit, time_column, "UTC")
        # The text layout SQLAlchemy stores SQLite datetimes in, truncated to the unit.
        layout = {"minute": "%Y-%m-%d %H:%M:00.000000", "hour": "%Y-%m-%d %H:00:00.000000"}
        return func.strftime(layout[unit], time_column)

    async def _merge_aggregates(self, target: type[AggregateColumns], grouped: Any) -> None:
        """Insert ``grouped`` rows (parameter_id, bucket_start, min, max, avg, count) into
        ``target``, merging each with the row already at its bucket: min/max of both, counts
        added, averages weighted by their counts."""
        columns = ["parameter_id", "bucket_start", "min", "max", "avg", "count"]
        insert = pg_insert(target) if self._postgres else sqlite_insert(target)
        statement = insert.from_select(columns, grouped)
        new = statement.excluded
        lower, upper = (func.least, func.greatest) if self._postgres else (func.min, func.max)
        merged_count = target.count + new["count"]
        statement = statement.on_conflict_do_update(
            index_elements=["parameter_id", "bucket_start"],
            set_={
                "min": lower(target.min, new["min"]),
                "max": upper(target.max, new["max"]),
                "avg": (target.avg * target.count + new["avg"] * new["count"]) / merged_count,
                "count": merged_count,
            },
        )
        await self.session.execute(statement)

    async def reduce_to_minutes(self, start: datetime, stop: datetime) -> int:
        """Fold raw samples in [start, stop) (whole minutes) into minute aggregates, merged
        with aggregates already there, then delete them. Returns the samples removed."""
        await self.aggregate_to_minutes(start, stop)
        sample = TelemetrySample
        result = await self.session.execute(
            delete(sample).where(sample.time >= start, sample.time < stop)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def aggregate_to_minutes(self, start: datetime, stop: datetime) -> None:
        """Fold raw samples in [start, stop) (whole minutes) into minute aggregates, merged
        with aggregates already there; the samples stay (a partition drop removes them)."""
        sample = TelemetrySample
        minute = self._truncate(sample.time, "minute")
        grouped = (
            select(
                sample.parameter_id,
                minute,
                func.min(sample.value),
                func.max(sample.value),
                func.avg(sample.value),
                func.count(),
            )
            .where(sample.time >= start, sample.time < stop)
            .group_by(sample.parameter_id, minute)
        )
        await self._merge_aggregates(TelemetryAggregate, grouped)

    async def reduce_to_hours(self, start: datetime, stop: datetime) -> int:
        """Fold minute aggregates in [start, stop) (whole hours) into hour aggregates,
        merged with those already there, then delete them. Returns the minute rows
        removed."""
        minute = TelemetryAggregate
        hour = self._truncate(minute.bucket_start, "hour")
        total_count = func.sum(minute.count)
        grouped = (
            select(
                minute.parameter_id,
                hour,
                func.min(minute.min),
                func.max(minute.max),
                func.sum(minute.avg * minute.count) / total_count,
                total_count,
            )
            .where(minute.bucket_start >= start, minute.bucket_start < stop)
            .group_by(minute.parameter_id, hour)
        )
        await self._merge_aggregates(TelemetryHourAggregate, grouped)
        result = await self.session.execute(
            delete(minute).where(minute.bucket_start >= start, minute.bucket_start < stop)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
