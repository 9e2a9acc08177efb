"""All SQL of the telemetry archive.

Bulk sample writes bypass the ORM: on PostgreSQL they are a binary COPY on the request's
own connection (so inside the request's transaction), on SQLite one executemany. The COPY
payload is encoded from numpy arrays in one piece rather than value by value: that
encoding was most of the time a batch spent in Python.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    cast,
    delete,
    exists,
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
from astroshield.telemetry.limits_models import TelemetryLimitSet
from astroshield.telemetry.models import (
    AggregateColumns,
    TelemetryAggregate,
    TelemetryBatch,
    TelemetryDefinition,
    TelemetryHourAggregate,
    TelemetryParameter,
    TelemetrySample,
)

SampleRecord = tuple[int, datetime, float]  # (parameter_id, time, value)
_SAMPLE_COLUMNS = ("parameter_id", "time", "value")

# PostgreSQL stores a timestamp as a count of microseconds since this moment.
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def microseconds_since_postgres_epoch(moment: datetime) -> int:
    """Exact (integer arithmetic) for any aware datetime."""
    return (moment - POSTGRES_EPOCH) // _MICROSECOND


def from_postgres_microseconds(microseconds: int) -> datetime:
    return POSTGRES_EPOCH + timedelta(microseconds=microseconds)


@dataclass(frozen=True, slots=True)
class SampleColumns:
    """Samples as three parallel arrays: what a COPY sends, without a Python object per
    sample. Times are microseconds since ``POSTGRES_EPOCH`` (UTC)."""

    parameter_ids: npt.NDArray[np.int32]
    times_us: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    @classmethod
    def of(cls, records: Sequence[tuple[int, int, float]]) -> SampleColumns:
        """From ``(parameter_id, microseconds, value)`` tuples."""
        count = len(records)
        return cls(
            np.fromiter((r[0] for r in records), np.int32, count),
            np.fromiter((r[1] for r in records), np.int64, count),
            np.fromiter((r[2] for r in records), np.float64, count),
        )

    def __len__(self) -> int:
        return len(self.times_us)

    def in_time_order(self) -> SampleColumns:
        """Stable: samples at one time keep the batch's order."""
        order = np.argsort(self.times_us, kind="stable")
        return SampleColumns(self.parameter_ids[order], self.times_us[order], self.values[order])

    def time_at(self, position: int) -> datetime:
        return from_postgres_microseconds(int(self.times_us[position]))

    def records(self, positions: npt.NDArray[np.intp] | None = None) -> list[SampleRecord]:
        """``(parameter_id, UTC time, value)`` tuples, of every sample or of those at
        ``positions``; one datetime is built per distinct time."""
        ids, times, values = self.parameter_ids, self.times_us, self.values
        if positions is not None:
            ids, times, values = ids[positions], times[positions], values[positions]
        distinct, inverse = np.unique(times, return_inverse=True)
        moments = [from_postgres_microseconds(us) for us in distinct.tolist()]
        return [
            (parameter_id, moments[i], value)
            for parameter_id, i, value in zip(
                ids.tolist(), inverse.tolist(), values.tolist(), strict=True
            )
        ]


# One row of PostgreSQL's binary COPY format for (integer, timestamptz, float8): the field
# count, then each field's byte length and its big-endian value. Packed, no padding.
_COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("parameter_id_length", ">i4"),
        ("parameter_id", ">i4"),
        ("time_length", ">i4"),
        ("time", ">i8"),
        ("value_length", ">i4"),
        ("value", ">f8"),
    ]
)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def binary_copy_payload(samples: SampleColumns) -> bytearray:
    """The whole ``COPY telemetry_samples (parameter_id, time, value) FROM STDIN (FORMAT
    binary)`` stream of ``samples``."""
    rows = np.empty(len(samples), dtype=_COPY_ROW)
    rows["fields"] = 3
    rows["parameter_id_length"] = 4
    rows["parameter_id"] = samples.parameter_ids
    rows["time_length"] = 8
    rows["time"] = samples.times_us
    rows["value_length"] = 8
    rows["value"] = samples.values
    payload = bytearray(_COPY_HEADER)
    payload += rows.data
    payload += _COPY_TRAILER
    return payload


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

    async def parameters_with_limits(
        self, spacecraft_id: uuid.UUID
    ) -> list[tuple[TelemetryParameter, bool]]:
        """The dictionary, each parameter with whether an enabled limit set watches it."""
        limited = (
            exists()
            .where(
                TelemetryLimitSet.parameter_id == TelemetryParameter.id,
                TelemetryLimitSet.enabled.is_(True),
            )
            .label("limited")
        )
        statement = select(TelemetryParameter, limited).where(
            TelemetryParameter.spacecraft_id == spacecraft_id
        )
        rows = await self.session.execute(statement)
        return [(parameter, bool(is_limited)) for parameter, is_limited in rows]

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

    async def store_samples(self, samples: SampleColumns) -> int:
        """Store samples; returns how many were new. A (parameter, time) already archived
        keeps its stored value."""
        if not len(samples):
            return 0
        if self._postgres:
            return await self._copy_samples(samples)
        before = await self._sqlite_total_changes()
        statement = sqlite_insert(TelemetrySample).on_conflict_do_nothing()
        await self.session.execute(
            statement,
            [{"parameter_id": p, "time": t, "value": v} for p, t, v in samples.records()],
        )
        return await self._sqlite_total_changes() - before

    async def _sqlite_total_changes(self) -> int:
        return int((await self.session.execute(select(func.total_changes()))).scalar_one())

    async def _copy_samples(self, samples: SampleColumns) -> int:
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
                await driver.copy_to_table(
                    TelemetrySample.__tablename__,
                    # A bytearray, not bytes: asyncpg would take bytes for a file path.
                    source=binary_copy_payload(samples),
                    columns=_SAMPLE_COLUMNS,
                    format="binary",
                )
            return len(samples)
        except asyncpg.UniqueViolationError:
            pass
        except asyncpg.ForeignKeyViolationError:
            raise ConflictError("a parameter of this batch was deleted meanwhile") from None
        records = samples.records()
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
        bucket boundary (minute and hour aggregates always are) lands in the later bucket."""
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
        and hour aggregates (samples past retention) count into the bucket their minute or
        hour starts in."""
        sample = TelemetrySample
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
        reduced = []
        aggregates: tuple[type[AggregateColumns], ...] = (
            TelemetryAggregate,
            TelemetryHourAggregate,
        )
        for aggregate in aggregates:
            index = self._bucket_index(aggregate.bucket_start, start, span_us, count).label("b")
            reduced.append(
                select(
                    index,
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
                .group_by(index)
            )
        both = union_all(raw, *reduced).subquery()
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
        result = await self.session.execute(
            delete(sample).where(sample.time >= start, sample.time < stop)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

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
