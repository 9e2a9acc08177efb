"""The hour-summary migration fills the summaries from what the archive already holds:
raw samples, minute aggregates and hour aggregates (the older forms of samples)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from astroshield.db import UTCDateTime, create_unpooled_engine
from astroshield.migrate import upgrade_async
from astroshield.telemetry.models import TelemetryHourSummary
from tests.conftest import settings_for
from tests.support.migrations import revision_before

_SAMPLES = sa.table(
    "telemetry_samples",
    sa.column("parameter_id", sa.Integer()),
    sa.column("time", UTCDateTime()),
    sa.column("value", sa.Double()),
)


def _aggregates(name: str) -> sa.TableClause:
    return sa.table(
        name,
        *(sa.column(c, sa.Double()) for c in ("min", "max", "avg")),
        sa.column("parameter_id", sa.Integer()),
        sa.column("bucket_start", UTCDateTime()),
        sa.column("count", sa.Integer()),
    )


async def test_summaries_are_filled_from_samples_and_aggregates(
    scratch_database_url: str,
) -> None:
    settings = settings_for(scratch_database_url)
    await upgrade_async(settings, revision_before(settings, "summ00000001"))
    hour = datetime(2026, 3, 1, 5, tzinfo=UTC)
    samples = [
        {"parameter_id": 7, "time": hour + timedelta(seconds=s), "value": 1.0 + s / 100}
        for s in range(0, 3600, 450)
    ]
    minutes = [  # the hour before, already reduced to minutes
        {
            "parameter_id": 7,
            "bucket_start": hour - timedelta(minutes=m),
            "min": -m,
            "max": m,
            "avg": m / 2,
            "count": 4,
        }
        for m in (1, 2, 30)
    ]
    hours = [  # a day earlier, reduced to an hour
        {
            "parameter_id": 9,
            "bucket_start": hour - timedelta(days=1),
            "min": 3.0,
            "max": 8.0,
            "avg": 5.0,
            "count": 240,
        }
    ]
    engine = create_unpooled_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(_SAMPLES.insert(), samples)
            await connection.execute(_aggregates("telemetry_aggregates_1m").insert(), minutes)
            await connection.execute(_aggregates("telemetry_aggregates_1h").insert(), hours)
        await upgrade_async(settings)
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(TelemetryHourSummary.__table__).order_by("parameter_id", "hour_start")
            )
            summaries = [tuple(row) for row in rows]
    finally:
        await engine.dispose()

    values = [s["value"] for s in samples]
    assert [(p, h) for p, h, *_ in summaries] == [
        (7, hour - timedelta(hours=1)),
        (7, hour),
        (9, hour - timedelta(days=1)),
    ]
    minute_row, sample_row, hour_row = summaries
    assert minute_row[2:5] == (12, -30.0, 30.0)
    assert math.isclose(minute_row[5], 4 * (0.5 + 1.0 + 15.0))
    assert sample_row[2:5] == (len(values), min(values), max(values))
    assert math.isclose(sample_row[5], math.fsum(values))
    assert hour_row[2:] == (240, 3.0, 8.0, 1200.0)
