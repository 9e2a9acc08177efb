"""SQL of the hour summaries (see ``telemetry.summaries``): added to by the ingest in the
samples' transaction, read by long-span bucket queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.telemetry.models import TelemetryHourSummary
from astroshield.telemetry.samples import (
    SampleColumns,
    from_postgres_microseconds,
    microseconds_since_postgres_epoch,
)
from astroshield.telemetry.summaries import HourSummary, summarise_by_hour

_PG_ADD_TO_SUMMARIES = (
    "INSERT INTO telemetry_hour_summaries AS s (parameter_id, hour_start, count, min, max, total) "
    "SELECT * FROM unnest($1::integer[], $2::timestamptz[], $3::bigint[], $4::float8[], "
    "$5::float8[], $6::float8[]) "
    "ON CONFLICT (parameter_id, hour_start) DO UPDATE SET count = s.count + excluded.count, "
    "min = least(s.min, excluded.min), max = greatest(s.max, excluded.max), "
    "total = s.total + excluded.total"
)


class HourSummaryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def add(self, new: SampleColumns) -> None:
        """Add samples just stored (and only those: a repeated one must not count twice)
        to the summaries of their hours, in the samples' transaction."""
        summaries = summarise_by_hour(new)
        if not summaries:
            return
        if self._postgres:
            # One statement over arrays: a batch of one time step across 10,000 parameters
            # adds 10,000 rows, and row-by-row binding would cost more than its COPY.
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute(  # type: ignore[union-attr]
                _PG_ADD_TO_SUMMARIES,
                [summary.parameter_id for summary in summaries],
                [from_postgres_microseconds(summary.hour_start_us) for summary in summaries],
                [summary.count for summary in summaries],
                [summary.min for summary in summaries],
                [summary.max for summary in summaries],
                [summary.total for summary in summaries],
            )
            return
        target = TelemetryHourSummary
        added = sqlite_insert(target).excluded
        statement = sqlite_insert(target).on_conflict_do_update(
            index_elements=["parameter_id", "hour_start"],
            set_={
                "count": target.count + added["count"],
                "min": func.min(target.min, added["min"]),
                "max": func.max(target.max, added["max"]),
                "total": target.total + added["total"],
            },
        )
        rows = [
            {
                "parameter_id": summary.parameter_id,
                "hour_start": from_postgres_microseconds(summary.hour_start_us),
                "count": summary.count,
                "min": summary.min,
                "max": summary.max,
                "total": summary.total,
            }
            for summary in summaries
        ]
        await self.session.execute(statement, rows)

    async def within(self, parameter_id: int, start: datetime, stop: datetime) -> list[HourSummary]:
        """The summaries of the whole hours in [start, stop), oldest first."""
        summary = TelemetryHourSummary
        statement = (
            select(summary.hour_start, summary.count, summary.min, summary.max, summary.total)
            .where(
                summary.parameter_id == parameter_id,
                summary.hour_start >= start,
                summary.hour_start <= stop - timedelta(hours=1),
            )
            .order_by(summary.hour_start)
        )
        rows = await self.session.execute(statement)
        return [
            HourSummary(
                parameter_id,
                microseconds_since_postgres_epoch(hour_start),
                int(n),
                float(low),
                float(high),
                float(total),
            )
            for hour_start, n, low, high, total in rows
        ]
