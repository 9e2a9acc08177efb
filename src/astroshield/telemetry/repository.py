"""All SQL of the telemetry archive.

Bulk sample writes bypass the ORM: on PostgreSQL they are a binary COPY on the request's
own connection (so inside the request's transaction), on SQLite one executemany.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.errors import ConflictError
from astroshield.spacecraft.models import Spacecraft
from astroshield.telemetry.models import (
    TelemetryAggregate,
    TelemetryBatch,
    TelemetryDefinition,
    TelemetryParameter,
    TelemetrySample,
)

SampleRecord = tuple[int, datetime, float]  # (parameter_id, time, value)
_SAMPLE_COLUMNS = ("parameter_id", "time", "value")


@dataclass(frozen=True, slots=True)
class BatchKey:
    source_id: str | None
    sequence: int | None
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class BucketRow:
    index: int
    count: int
    min: float
    max: float
    total: float


@dataclass(frozen=True, slots=True)
class LatestRow:
    name: str
    type: str
    unit: str | None
    time: datetime | None
    value: float | None


class TelemetryRepository:
    """Callers pass spacecraft ids they already resolved through the organisation-bound
    ``SpacecraftRepository``; parameter ids come from this spacecraft's dictionary."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # -- dictionary -------------------------------------------------------------------

    async def parameters(self, spacecraft_id: uuid.UUID) -> Sequence[TelemetryParameter]:
        statement = (
            select(TelemetryParameter)
            .where(TelemetryParameter.spacecraft_id == spacecraft_id)
            .order_by(TelemetryParameter.name)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def parameter(self, spacecraft_id: uuid.UUID, name: str) -> TelemetryParameter | None:
        statement = select(TelemetryParameter).where(
            TelemetryParameter.spacecraft_id == spacecraft_id, TelemetryParameter.name == name
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_parameters(self, parameters: Sequence[TelemetryParameter]) -> None:
        self.session.add_all(parameters)
        await self.session.flush()

    async def definition(self, spacecraft_id: uuid.UUID) -> TelemetryDefinition | None:
        return await self.session.get(TelemetryDefinition, spacecraft_id)

    async def definition_uploaded_at(self, spacecraft_id: uuid.UUID) -> datetime | None:
        statement = select(TelemetryDefinition.uploaded_at).where(
            TelemetryDefinition.spacecraft_id == spacecraft_id
        )
        uploaded_at: datetime | None = (await self.session.execute(statement)).scalar()
        return uploaded_at

    async def save_definition(self, definition: TelemetryDefinition) -> None:
        await self.session.merge(definition)
        await self.session.flush()

    # -- batches ----------------------------------------------------------------------

    async def find_batch(self, spacecraft_id: uuid.UUID, key: BatchKey) -> TelemetryBatch | None:
        batch = TelemetryBatch
        if key.idempotency_key is not None:
            match = batch.idempotency_key == key.idempotency_key
        else:
            match = and_(batch.source_id == key.source_id, batch.sequence == key.sequence)
        statement = select(batch).where(batch.spacecraft_id == spacecraft_id, match)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def claim_batch(
        self,
        spacecraft_id: uuid.UUID,
        key: BatchKey,
        *,
        payload_sha256: str,
        result: dict[str, Any],
        received_at: datetime,
    ) -> int | None:
        """Insert the batch row, or return None when a batch with this key exists.

        ON CONFLICT DO NOTHING makes a concurrent retry wait for the first attempt's
        transaction: if that commits, the retry finds its row; if it rolls back, the retry
        becomes the first.
        """
        insert = pg_insert if self._postgres else sqlite_insert
        statement = (
            insert(TelemetryBatch)
            .values(
                spacecraft_id=spacecraft_id,
                source_id=key.source_id,
                sequence=key.sequence,
                idempotency_key=key.idempotency_key,
                payload_sha256=payload_sha256,
                result=result,
                received_at=received_at,
            )
            .on_conflict_do_nothing()
            .returning(TelemetryBatch.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def set_batch_result(self, batch_id: int, result: dict[str, Any]) -> None:
        await self.session.execute(
            update(TelemetryBatch).where(TelemetryBatch.id == batch_id).values(result=result)
        )

    # -- samples ----------------------------------------------------------------------

    async def store_samples(self, records: Sequence[SampleRecord]) -> int:
        """Store samples; returns how many were new. A (parameter, time) already archived
        keeps its stored value."""
        if not records:
            return 0
        if self._postgres:
            return await self._copy_samples(records)
        before = await self._sqlite_total_changes()
        statement = sqlite_insert(TelemetrySample).on_conflict_do_nothing()
        await self.session.execute(
            statement,
            [{"parameter_id": p, "time": t, "value": v} for p, t, v in records],
        )
        return await self._sqlite_total_changes() - before

    async def _sqlite_total_changes(self) -> int:
        return int((await self.session.execute(select(func.total_changes()))).scalar_one())

    async def _copy_samples(self, records: Sequence[SampleRecord]) -> int:
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        if not driver.is_in_transaction():
            # SQLAlchemy begins the driver's transaction with its first statement; a COPY
            # before that would commit on its own, outside the request's transaction.
            await connection.exec_driver_sql("SELECT 1")
            if not driver.is_in_transaction():
                raise RuntimeError("sample COPY must run inside the session's transaction")
        try:
            # A savepoint, so a key that is already archived costs a retry, not the
            # whole transaction.
            async with driver.transaction():
                await driver.copy_records_to_table(
                    TelemetrySample.__tablename__, records=records, columns=_SAMPLE_COLUMNS
                )
            return len(records)
        except asyncpg.UniqueViolationError:
            pass
        except asyncpg.ForeignKeyViolationError:
            raise ConflictError("a parameter of this batch was deleted meanwhile") from None
        status = await driver.execute(
            "INSERT INTO telemetry_samples (parameter_id, time, value) "
            "SELECT * FROM unnest($1::integer[], $2::timestamptz[], $3::float8[]) "
            "ON CONFLICT DO NOTHING",
            [r[0] for r in records],
            [r[1] for r in records],
            [r[2] for r in records],
        )
        return int(status.rsplit(" ", 1)[-1])

    async def advance_last_contact(self, spacecraft_id: uuid.UUID, newest: datetime) -> None:
        """Last contact only moves forward. Taken last in the transaction: the row lock
        it needs is then held only for the commit."""
        await self.session.execute(
            update(Spacecraft)
            .where(
                Spacecraft.id == spacecraft_id,
                or_(Spacecraft.last_contact_at.is_(None), Spacecraft.last_contact_at < newest),
            )
            .values(last_contact_at=newest)
            .execution_options(synchronize_session=False)
        )

    # -- queries ----------------------------------------------------------------------

    async def samples(
        self,
        parameter_id: int,
        *,
        start: datetime | None,
        stop: datetime | None,
        after: datetime | None,
        descending: bool,
        limit: int,
    ) -> Sequence[tuple[datetime, float]]:
        sample = TelemetrySample
        statement = select(sample.time, sample.value).where(sample.parameter_id == parameter_id)
        if start is not None:
            statement = statement.where(sample.time >= start)
        if stop is not None:
            statement = statement.where(sample.time < stop)
        if after is not None:
            statement = statement.where(sample.time < after if descending else sample.time > after)
        order = sample.time.desc() if descending else sample.time.asc()
        rows = await self.session.execute(statement.order_by(order).limit(limit))
        return [(row[0], row[1]) for row in rows]

    def _bucket_index(
        self, time_column: Any, origin: datetime, span_us: int, count: int
    ) -> ColumnElement[int]:
        """floor(offset * count / span) in exact integer microseconds, so a sample on a
        bucket boundary (minute aggregates always are) lands in the later bucket."""
        if self._postgres:
            # The interval's seconds as a double are exact to far below a microsecond.
            offset_s = func.date_part("epoch", time_column - origin)
            offset_us: ColumnElement[int] = cast(func.round(offset_s * 1_000_000), BigInteger)
        else:
            # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds, then the microseconds.
            seconds = cast(func.strftime("%s", time_column), BigInteger)
            micros = cast(func.substr(time_column, 21, 6), BigInteger)
            origin_us = int(origin.timestamp()) * 1_000_000 + origin.microsecond
            offset_us = seconds * 1_000_000 + micros - origin_us
        return (offset_us * count) // span_us

    async def buckets(
        self, parameter_id: int, start: datetime, stop: datetime, count: int
    ) -> list[BucketRow]:
        """Per non-empty bucket: count, min, max and sum, grouped in the database. Minute
        aggregates (raw samples past retention) count into the bucket their minute
        starts in."""
        sample, aggregate = TelemetrySample, TelemetryAggregate
        span_us = (stop - start) // timedelta(microseconds=1)
        raw_index = self._bucket_index(sample.time, start, span_us, count).label("b")
        raw = (
            select(
                raw_index,
                func.count().label("n"),
                func.min(sample.value).label("lo"),
                func.max(sample.value).label("hi"),
                func.sum(sample.value).label("total"),
            )
            .where(sample.parameter_id == parameter_id, sample.time >= start, sample.time < stop)
            .group_by(raw_index)
        )
        reduced_index = self._bucket_index(aggregate.bucket_start, start, span_us, count).label("b")
        reduced = (
            select(
                reduced_index,
                func.sum(aggregate.count).label("n"),
                func.min(aggregate.min).label("lo"),
                func.max(aggregate.max).label("hi"),
                func.sum(aggregate.avg * aggregate.count).label("total"),
            )
            .where(
                aggregate.parameter_id == parameter_id,
                aggregate.bucket_start >= start,
                aggregate.bucket_start < stop,
            )
            .group_by(reduced_index)
        )
        both = union_all(raw, reduced).subquery()
        statement = select(
            both.c.b,
            func.sum(both.c.n),
            func.min(both.c.lo),
            func.max(both.c.hi),
            func.sum(both.c.total),
        ).group_by(both.c.b)
        rows = await self.session.execute(statement)
        return [
            BucketRow(int(b), int(n), float(lo), float(hi), float(total))
            for b, n, lo, hi, total in rows
        ]

    async def latest(self, spacecraft_id: uuid.UUID) -> list[LatestRow]:
        """Each parameter's newest sample in one statement: per parameter the max(time)
        is one descent of the (parameter_id, time) primary key."""
        parameter, sample = TelemetryParameter, TelemetrySample
        newest = (
            select(func.max(sample.time))
            .where(sample.parameter_id == parameter.id)
            .correlate(parameter)
            .scalar_subquery()
        )
        statement = (
            select(parameter.name, parameter.type, parameter.unit, sample.time, sample.value)
            .select_from(parameter)
            .outerjoin(sample, and_(sample.parameter_id == parameter.id, sample.time == newest))
            .where(parameter.spacecraft_id == spacecraft_id)
            .order_by(parameter.name)
        )
        rows = await self.session.execute(statement)
        return [LatestRow(*row) for row in rows]

    async def stream_samples(
        self,
        parameter_ids: Sequence[int],
        start: datetime,
        stop: datetime,
        *,
        chunk_rows: int,
    ) -> AsyncIterator[Sequence[tuple[int, datetime, float]]]:
        sample = TelemetrySample
        statement = (
            select(sample.parameter_id, sample.time, sample.value)
            .where(sample.parameter_id.in_(parameter_ids), sample.time >= start, sample.time < stop)
            .order_by(sample.parameter_id, sample.time)
            .execution_options(yield_per=chunk_rows)
        )
        result = await self.session.stream(statement)
        async for partition in result.partitions(chunk_rows):
            yield [(row[0], row[1], row[2]) for row in partition]

    # -- retention --------------------------------------------------------------------

    async def count_samples_before(self, cutoff: datetime) -> int:
        statement = select(func.count()).where(TelemetrySample.time < cutoff)
        return int((await self.session.execute(statement)).scalar_one())

    async def oldest_sample_before(self, cutoff: datetime) -> datetime | None:
        statement = select(func.min(TelemetrySample.time)).where(TelemetrySample.time < cutoff)
        value: datetime | None = (await self.session.execute(statement)).scalar_one()
        return value

    async def reduce_to_minutes(self, start: datetime, stop: datetime) -> int:
        """Fold raw samples in [start, stop) (whole minutes) into minute aggregates, merged
        with aggregates already there, then delete them. Returns the samples removed."""
        sample, aggregate = TelemetrySample, TelemetryAggregate
        if self._postgres:
            minute: ColumnElement[Any] = func.date_trunc("minute", sample.time)
        else:
            # The text layout SQLAlchemy stores SQLite datetimes in, truncated to the minute.
            minute = func.strftime("%Y-%m-%d %H:%M:00.000000", sample.time)
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
        columns = ["parameter_id", "bucket_start", "min", "max", "avg", "count"]
        insert = pg_insert(aggregate) if self._postgres else sqlite_insert(aggregate)
        statement = insert.from_select(columns, grouped)
        lower, upper = (func.least, func.greatest) if self._postgres else (func.min, func.max)
        merged_count = aggregate.count + statement.excluded["count"]
        statement = statement.on_conflict_do_update(
            index_elements=["parameter_id", "bucket_start"],
            set_={
                "min": lower(aggregate.min, statement.excluded["min"]),
                "max": upper(aggregate.max, statement.excluded["max"]),
                "avg": (
                    aggregate.avg * aggregate.count
                    + statement.excluded["avg"] * statement.excluded["count"]
                )
                / merged_count,
                "count": merged_count,
            },
        )
        await self.session.execute(statement)
        result = await self.session.execute(
            delete(sample).where(sample.time >= start, sample.time < stop)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
