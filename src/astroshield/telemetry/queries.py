"""Reading the archive: raw samples with their limit states, equal-width buckets over raw
samples and the aggregates that replaced them, and each parameter's newest sample."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.api.pagination import PageRequest, cursor_value
from astroshield.errors import FieldError, InvalidInputError
from astroshield.security.principal import Principal
from astroshield.spacecraft.service import get_spacecraft
from astroshield.telemetry.dictionary import parameter_of
from astroshield.telemetry.limits_service import limit_states_for
from astroshield.telemetry.repository.archive import BucketRow, TelemetryRepository
from astroshield.telemetry.samples import ParameterType
from astroshield.telemetry.schemas import (
    Bucket,
    BucketSeries,
    LatestValue,
    SamplePage,
    SampleRead,
)

MAX_BUCKETS = 10_000
DEFAULT_SAMPLES_SPAN = timedelta(hours=24)


def check_window(start: datetime | None, stop: datetime | None) -> None:
    if start is not None and stop is not None and start >= stop:
        raise InvalidInputError(
            "start must be before stop",
            errors=[FieldError(["query", "stop"], "must be after start")],
        )


def samples_window(
    start: datetime | None, stop: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The bucketed window with its defaults filled in: it ends now and spans 24 h, so an
    operator's first look shows the present, including a silence since the last contact."""
    window_stop = now if stop is None else stop
    window_start = window_stop - DEFAULT_SAMPLES_SPAN if start is None else start
    check_window(window_start, window_stop)
    return window_start, window_stop


async def raw_samples(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    name: str,
    page: PageRequest,
    *,
    start: datetime | None,
    stop: datetime | None,
    descending: bool,
) -> SamplePage:
    """One page of a parameter's samples in time order, each with its limit state."""
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    parameter = await parameter_of(session, spacecraft_id, name)
    after: datetime | None = cursor_value(page, "t", datetime)
    rows = await TelemetryRepository(session).samples(
        parameter.id,
        start=start,
        stop=stop,
        after=after,
        descending=descending,
        limit=page.limit + 1,
    )
    states = await limit_states_for(session, spacecraft_id, parameter.id, [v for _, v in rows])
    items = [
        SampleRead(time=time, value=value, limit=state)
        for (time, value), state in zip(rows, states, strict=True)
    ]
    kept = items[: page.limit]
    next_cursor = (
        page.encode_cursor({"t": kept[-1].time.isoformat()}) if len(items) > page.limit else None
    )
    return SamplePage(
        parameter=parameter.name, items=kept, next_cursor=next_cursor, limit=page.limit
    )


def _bucket(start: datetime, stop: datetime, row: BucketRow | None) -> Bucket:
    if row is None:
        return Bucket(start=start, stop=stop, count=0, min=None, max=None, avg=None)
    return Bucket(
        start=start,
        stop=stop,
        count=int(row.count),
        min=row.min,
        max=row.max,
        avg=row.total / row.count,
    )


async def buckets(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    name: str,
    *,
    start: datetime,
    stop: datetime,
    count: int,
) -> BucketSeries:
    """[start, stop) cut into ``count`` equal buckets; an empty one has count 0."""
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    parameter = await parameter_of(session, spacecraft_id, name)
    width = (stop - start) / count
    rows = await TelemetryRepository(session).buckets(parameter.id, start, stop, count)
    by_index = {row.index: row for row in rows}
    series = [
        _bucket(
            start + width * index,
            stop if index == count - 1 else start + width * (index + 1),
            by_index.get(index),
        )
        for index in range(count)
    ]
    return BucketSeries(
        parameter=parameter.name,
        start=start,
        stop=stop,
        width_s=width.total_seconds(),
        buckets=series,
    )


async def latest(
    session: AsyncSession, principal: Principal, spacecraft_id: uuid.UUID
) -> list[LatestValue]:
    """The newest sample of every parameter (null when it has none)."""
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    rows = await TelemetryRepository(session).latest(spacecraft_id)
    return [
        LatestValue(
            parameter=row.name,
            type=ParameterType(row.type),
            unit=row.unit,
            time=row.time,
            value=row.value,
        )
        for row in rows
    ]
