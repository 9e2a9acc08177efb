"""SQL of the telemetry archive: the dictionary, batches, samples and their queries.

Bulk sample writes bypass the ORM: on PostgreSQL they are a binary COPY on the request's
own connection (so inside the request's transaction), on SQLite one executemany. The COPY
payload is encoded from numpy arrays in one piece rather than value by value: that
encoding was most of the time a batch spent in Python.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

import asyncpg  # type: ignore[import-untyped]
import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    Subquery,
    and_,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
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
from astroshield.telemetry.repository.summaries import HourSummaryRepository
from astroshield.telemetry.samples import (
    SampleColumns,
    from_postgres_microseconds,
    microseconds_since_postgres_epoch,
)
from astroshield.telemetry.summaries import (
    MAX_UNCOVERED_STRETCHES,
    MIN_SUMMARY_BUCKET_US,
    HourSummary,
    plan_summary_use,
)

_SAMPLE_COLUMNS = ("parameter_id", "time", "value")
_Columns = TypeVarTuple("_Columns")


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


def _columns_of(rows: Sequence[Any]) -> SampleColumns:
    """(parameter_id, time, value) rows as the columns a batch travels in."""
    return SampleColumns.of(
        [(int(p), microseconds_since_postgres_epoch(t), float(v)) for p, t, v in rows]
    )


@dataclass(frozen=True, slots=True)
class BucketRow:
    index: int
    count: int
    min: float
    max: float
    total: float


def _with_summary(row: BucketRow | None, index: int, summary: HourSummary) -> BucketRow:
    if row is None:
        return BucketRow(index, summary.count, summary.min, summary.max, summary.total)
    return BucketRow(
        index,
        row.count + summary.count,
        min(row.min, summary.min),
        max(row.max, summary.max),
        row.total + summary.total,
    )


@dataclass(frozen=True, slots=True)
class LatestRow:
    name: str
    type: str
    unit: str | None
    time: datetime | None
    value: float | None


class TelemetryRepository:
    """Callers pass spacecraft ids they already resolved for the caller's organisation
    (``spacecraft.service.get_spacecraft``); parameter ids come from this spacecraft's
    dictionary."""

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

    async def parameter_names(self, spacecraft_id: uuid.UUID, names: Iterable[str]) -> set[str]:
        """Those of ``names`` that are parameters of the spacecraft."""
        statement = select(TelemetryParameter.name).where(
            TelemetryParameter.spacecraft_id == spacecraft_id,
            TelemetryParameter.name.in_(names),
        )
        return set((await self.session.execute(statement)).scalars())

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
        """Store samples and add the new ones to their hour summaries; returns how many
        were new. A (parameter, time) already archived keeps its stored value."""
        if not len(samples):
            return 0
        if self._postgres:
            new = await self._copy_samples(samples)
        else:
            statement = (
                sqlite_insert(TelemetrySample)
                .on_conflict_do_nothing()
                .returning(
                    TelemetrySample.parameter_id, TelemetrySample.time, TelemetrySample.value
                )
            )
            inserted = await self.session.execute(
                statement,
                [{"parameter_id": p, "time": t, "value": v} for p, t, v in samples.records()],
            )
            new = _columns_of(inserted.all())
        await HourSummaryRepository(self.session).add(new)
        return len(new)

    async def _copy_samples(self, samples: SampleColumns) -> SampleColumns:
        """The samples that were new."""
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
            return samples
        except asyncpg.UniqueViolationError:
            pass
        except asyncpg.ForeignKeyViolationError:
            raise ConflictError("a parameter of this batch was deleted meanwhile") from None
        records = samples.records()
        inserted = await driver.fetch(
            "INSERT INTO telemetry_samples (parameter_id, time, value) "
            "SELECT * FROM unnest($1::integer[], $2::timestamptz[], $3::float8[]) "
            "ON CONFLICT DO NOTHING RETURNING parameter_id, time, value",
            [r[0] for r in records],
            [r[1] for r in records],
            [r[2] for r in records],
        )
        return _columns_of([tuple(row) for row in inserted])

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
        """Per non-empty bucket: count, min, max and sum. Minute and hour aggregates
        (samples past retention) count into the bucket their minute or hour starts in.
        Buckets of several hours take every hour that lies inside one bucket from its hour
        summary and group only the rest (see ``telemetry.summaries``)."""
        span_us = (stop - start) // timedelta(microseconds=1)
        if span_us // count < MIN_SUMMARY_BUCKET_US:
            return await self.group_buckets(parameter_id, start, stop, count, [(start, stop)])
        summaries = await HourSummaryRepository(self.session).within(parameter_id, start, stop)
        start_us = microseconds_since_postgres_epoch(start)
        plan = plan_summary_use(
            start_us, start_us + span_us, count, [summary.hour_start_us for summary in summaries]
        )
        if len(plan.uncovered) > MAX_UNCOVERED_STRETCHES:
            return await self.group_buckets(parameter_id, start, stop, count, [(start, stop)])
        stretches = [
            (from_postgres_microseconds(low), from_postgres_microseconds(high))
            for low, high in plan.uncovered
        ]
        rows = await self.group_buckets(parameter_id, start, stop, count, stretches)
        by_index = {row.index: row for row in rows}
        for position, index in plan.usable:
            by_index[index] = _with_summary(by_index.get(index), index, summaries[position])
        return [by_index[index] for index in sorted(by_index)]

    def _rows_in(
        self,
        rows: Select[*_Columns],
        time_column: Any,
        stretches: Sequence[tuple[datetime, datetime]],
    ) -> Subquery:
        """``rows`` limited to those whose ``time_column`` lies in one of ``stretches``."""
        if len(stretches) == 1:
            [(low, high)] = stretches
            return rows.where(time_column >= low, time_column < high).subquery()
        if not self._postgres:
            ranges = (and_(time_column >= low, time_column < high) for low, high in stretches)
            return rows.where(or_(*ranges)).subquery()
        # One index range scan per stretch, of the one day partition run-time pruning
        # leaves: a LATERAL subquery kept out of the join search (OFFSET 0). Left to
        # itself the planner, which does not cost run-time pruning, joined a year of
        # samples against the stretches; and an OR of 500 ranges, costed against every
        # partition, ran the server out of memory.
        moments = ARRAY(DateTime(timezone=True))
        stretch = (
            func.unnest(
                bindparam("lows", [low for low, _ in stretches], type_=moments, unique=True),
                bindparam("highs", [high for _, high in stretches], type_=moments, unique=True),
            )
            .table_valued("low", "high")
            .render_derived(name="stretch")
        )
        inside = (
            rows.where(time_column >= stretch.c.low, time_column < stretch.c.high)
            .offset(0)
            .lateral("in_stretch")
        )
        return select(inside).select_from(stretch).join(inside, true()).subquery()

    async def group_buckets(
        self,
        parameter_id: int,
        start: datetime,
        stop: datetime,
        count: int,
        stretches: Sequence[tuple[datetime, datetime]],
    ) -> list[BucketRow]:
        """The buckets of [start, stop) grouped in the database from the samples and
        aggregates that lie in ``stretches`` (disjoint, inside [start, stop))."""
        if not stretches:
            return []
        if self._postgres:
            # Over millions of rows the planner's cost passes the JIT thresholds, and
            # compiling took longer than the grouping itself (2.4 of 3.6 s over 120 days).
            await self.session.execute(text("SET LOCAL jit = off"))
        sample = TelemetrySample
        span_us = (stop - start) // timedelta(microseconds=1)
        samples = self._rows_in(
            select(sample.time.label("t"), sample.value.label("v")).where(
                sample.parameter_id == parameter_id
            ),
            sample.time,
            stretches,
        )
        raw_index = self._bucket_index(samples.c.t, start, span_us, count).label("b")
        raw = select(
            raw_index,
            func.count().label("n"),
            func.min(samples.c.v).label("lo"),
            func.max(samples.c.v).label("hi"),
            func.sum(samples.c.v).label("total"),
        ).group_by(raw_index)
        reduced = []
        aggregates: tuple[type[AggregateColumns], ...] = (
            TelemetryAggregate,
            TelemetryHourAggregate,
        )
        for aggregate in aggregates:
            kept = self._rows_in(
                select(
                    aggregate.bucket_start.label("t"),
                    aggregate.count.label("n"),
                    aggregate.min.label("lo"),
                    aggregate.max.label("hi"),
                    (aggregate.avg * aggregate.count).label("total"),
                ).where(aggregate.parameter_id == parameter_id),
                aggregate.bucket_start,
                stretches,
            )
            index = self._bucket_index(kept.c.t, start, span_us, count).label("b")
            reduced.append(
                select(
                    index,
                    func.sum(kept.c.n).label("n"),
                    func.min(kept.c.lo).label("lo"),
                    func.max(kept.c.hi).label("hi"),
                    func.sum(kept.c.total).label("total"),
                ).group_by(index)
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
