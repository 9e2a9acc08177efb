"""Samples stored through the binary COPY payload the archive encodes itself.

The payload is checked byte for byte against a row-by-row ``struct`` encoding of
PostgreSQL's documented binary COPY format, and on PostgreSQL the stored rows against
what asyncpg's own record encoding (``copy_records_to_table``) stores for the same
samples. The values and times are the awkward ones: signed zero, subnormals, the largest
doubles, instants before 2000 with microseconds and UTC offsets, the largest parameter id.
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from astroshield.db import session_scope
from astroshield.telemetry.models import TelemetryParameter, TelemetrySample
from astroshield.telemetry.repository.archive import TelemetryRepository, binary_copy_payload
from astroshield.telemetry.samples import SampleColumns, microseconds_since_postgres_epoch
from tests.conftest import Factory
from tests.telemetry.support import iso, make_archive

LARGEST_PARAMETER_ID = 2**31 - 1  # PostgreSQL integer
VALUES = [
    0.0,
    -0.0,
    5e-324,  # smallest subnormal
    -2.225073858507201e-308,  # largest subnormal, negative
    2.2250738585072014e-308,  # smallest normal
    1.7976931348623157e308,  # largest double
    -1.7976931348623157e308,
    -123.456,
    1 / 3,
]
TIMES = [
    datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),  # 1 µs before PostgreSQL's epoch
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1900, 2, 28, 12, 34, 56, 789_012, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(2262, 4, 12, 0, 0, 0, 1, tzinfo=UTC),  # past what int64 nanoseconds can hold
    datetime(2026, 11, 1, 0, 0, 0, 123_456, tzinfo=timezone(-timedelta(hours=7))),
    datetime(2026, 11, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


def calendar_microseconds(moment: datetime) -> int:
    """Microseconds from 2000-01-01T00:00:00Z, counted from the calendar fields."""
    offset = moment.utcoffset()
    assert offset is not None
    utc = moment.replace(tzinfo=None) - offset
    days = utc.toordinal() - date(2000, 1, 1).toordinal()
    seconds = ((days * 24 + utc.hour) * 60 + utc.minute) * 60 + utc.second
    return seconds * 1_000_000 + utc.microsecond


def struct_payload(rows: list[tuple[int, int, float]]) -> bytes:
    """PostgreSQL's binary COPY stream as its documentation spells it, row by row."""
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # flags, extension length
    body = b"".join(
        struct.pack(">hiiiqid", 3, 4, parameter_id, 8, microseconds, 8, value)
        for parameter_id, microseconds, value in rows
    )
    return header + body + struct.pack(">h", -1)


def bits(value: float) -> bytes:
    return struct.pack(">d", value)


def tricky_rows(parameter_ids: list[int]) -> list[tuple[int, datetime, float]]:
    return [
        (parameter_ids[i % len(parameter_ids)], time, value)
        for i, (time, value) in enumerate(zip(TIMES, VALUES, strict=True))
    ]


def test_microseconds_match_a_count_from_the_calendar() -> None:
    assert [microseconds_since_postgres_epoch(t) for t in TIMES] == [
        calendar_microseconds(t) for t in TIMES
    ]
    assert microseconds_since_postgres_epoch(TIMES[0]) == -1


def test_the_payload_is_the_documented_binary_copy_format() -> None:
    rows = [
        (parameter_id, calendar_microseconds(time), value)
        for parameter_id, time, value in tricky_rows([1, LARGEST_PARAMETER_ID, 77])
    ]
    columns = SampleColumns.of(rows)

    assert bytes(binary_copy_payload(columns)) == struct_payload(rows)
    assert bytes(binary_copy_payload(SampleColumns.of([]))) == struct_payload([])


def test_records_give_back_the_same_instants_and_values() -> None:
    rows = tricky_rows([5, LARGEST_PARAMETER_ID])
    columns = SampleColumns.of([(p, calendar_microseconds(t), v) for p, t, v in rows])

    records = columns.records()

    assert [(p, t) for p, t, _ in records] == [(p, t) for p, t, _ in rows]
    assert [bits(v) for _, _, v in records] == [bits(v) for _, _, v in rows]
    assert all(t.utcoffset() == timedelta(0) for _, t, _ in records)
    chosen = np.array([1, 3], dtype=np.intp)
    assert columns.records(chosen) == [records[1], records[3]]


async def _stored(session: Any) -> list[tuple[int, datetime, bytes, bool]]:
    statement = text(
        "SELECT parameter_id, time, float8send(value), isfinite(time) FROM telemetry_samples "
        "ORDER BY parameter_id, time"
    )
    return [(p, t, bytes(v), f) for p, t, v, f in (await session.execute(statement)).all()]


# asyncpg's record encoding writes these two instants as -infinity and infinity (its
# stand-ins for them); the archive stores them as the instants they are.
ASYNCPG_INFINITIES = {
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
}


async def test_binary_copy_stores_what_asyncpg_record_encoding_stores(
    app: FastAPI, factory: Factory
) -> None:
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's; SQLite stores samples with executemany")
    spacecraft = await factory.spacecraft(await factory.organisation())
    async with session_scope(app.state.sessionmaker) as session:
        largest = TelemetryParameter(
            id=LARGEST_PARAMETER_ID, spacecraft_id=spacecraft.id, name="largest", type="float"
        )
        other = TelemetryParameter(spacecraft_id=spacecraft.id, name="other", type="float")
        session.add_all([largest, other])
        await session.flush()
        rows = tricky_rows([other.id, LARGEST_PARAMETER_ID])
    expected = sorted((p, t, bits(v), True) for p, t, v in rows)

    async with session_scope(app.state.sessionmaker) as session:
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        await connection.exec_driver_sql("SELECT 1")  # inside the session's transaction
        await driver.copy_records_to_table(  # type: ignore[union-attr]
            "telemetry_samples",
            records=[row for row in rows if row[1] not in ASYNCPG_INFINITIES],
            columns=("parameter_id", "time", "value"),
        )
    async with session_scope(app.state.sessionmaker) as session:
        by_records = await _stored(session)
        await session.execute(text("DELETE FROM telemetry_samples"))
    async with session_scope(app.state.sessionmaker) as session:
        columns = SampleColumns.of([(p, calendar_microseconds(t), v) for p, t, v in rows])
        stored = await TelemetryRepository(session).store_samples(columns.in_time_order())
    async with session_scope(app.state.sessionmaker) as session:
        by_payload = await _stored(session)

    assert stored == len(rows)
    assert by_payload == expected
    assert by_records == [row for row in expected if row[1] not in ASYNCPG_INFINITIES]


async def test_the_api_stores_awkward_numbers_and_times_exactly(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    past = [time for time in TIMES if time < datetime.now(UTC)]  # the others are future
    # panel_temp is a float parameter without bounds; reboots an int parameter.
    floats = [
        ("panel_temp", past[i % len(past)] + timedelta(minutes=i // len(past)), value)
        for i, value in enumerate(VALUES)
    ]
    ints = [
        ("reboots", TIMES[0], 2**53 - 1),
        ("reboots", TIMES[3], -7.0),
        ("reboots", TIMES[6], 0),
    ]

    def body(rows: list[tuple[str, datetime, float]]) -> list[dict[str, object]]:
        return [{"parameter": p, "time": iso(t), "value": v} for p, t, v in rows]

    # Two batches: a batch mixing 2**53 - 1 with doubles beyond it is checked sample by
    # sample, these are each checked whole.
    response = await archive.post(body(floats), sequence=1)
    assert (await archive.post(body(ints), sequence=2)).status_code == 201

    assert response.status_code == 201, response.text
    result = response.json()
    assert result["accepted"] == len(floats)
    assert result["first_time"] == "0001-01-01T00:00:00Z"
    assert result["last_time"] == "2026-11-01T07:00:00.123456Z"
    async with session_scope(app.state.sessionmaker) as session:
        names = {
            p.id: p.name for p in (await session.execute(select(TelemetryParameter))).scalars()
        }
        sample = TelemetrySample
        rows = await session.execute(select(sample.parameter_id, sample.time, sample.value))
        stored = sorted((names[p], t, v) for p, t, v in rows)
    expected = sorted((p, t, float(v)) for p, t, v in [*floats, *ints])
    assert stored == expected
    if app.state.engine.dialect.name == "postgresql":  # SQLite does not keep -0.0
        assert [math.copysign(1.0, v) for _, _, v in stored] == [
            math.copysign(1.0, v) for _, _, v in expected
        ]


async def test_a_sample_already_archived_keeps_its_value_through_the_copy_retry(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    first = [{"parameter": "panel_temp", "time": iso(TIMES[7]), "value": 1.5}]
    again = [
        {"parameter": "panel_temp", "time": iso(TIMES[7]), "value": -2.5},
        {"parameter": "panel_temp", "time": iso(TIMES[0]), "value": 5e-324},
    ]
    assert (await archive.post(first, sequence=1)).status_code == 201

    response = await archive.post(again, sequence=2)

    assert response.status_code == 201, response.text
    assert (response.json()["accepted"], response.json()["duplicates"]) == (1, 1)
    async with session_scope(app.state.sessionmaker) as session:
        rows = await session.execute(select(TelemetrySample.time, TelemetrySample.value))
        assert sorted(rows.all()) == [(TIMES[0], 5e-324), (TIMES[7], 1.5)]
