"""Raw samples past the retention become minute aggregates that still answer bucket queries."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, text

from astroshield.db import session_scope
from astroshield.retention.service import run_retention
from astroshield.telemetry.models import (
    TelemetryAggregate,
    TelemetryHourAggregate,
    TelemetryHourSummary,
    TelemetrySample,
)
from tests.conftest import Factory
from tests.telemetry.support import Archive, iso, make_archive, series, stored_counts


async def _retention(app: FastAPI, *, dry_run: bool) -> int:
    async with session_scope(app.state.sessionmaker) as session:
        report = await run_retention(session, app.state.settings, dry_run=dry_run)
    return {r.data_class: r.affected for r in report.classes}["telemetry_raw_samples"]


async def _aggregate_rows(app: FastAPI) -> int:
    async with session_scope(app.state.sessionmaker) as session:
        statement = select(func.count()).select_from(TelemetryAggregate)
        return int((await session.execute(statement)).scalar_one())


def _ten_minute_truth(
    samples: list[dict[str, Any]], start: datetime
) -> list[tuple[int, float, float, float]]:
    groups: dict[int, list[float]] = {}
    for sample in samples:
        index = int((datetime.fromisoformat(sample["time"]) - start) // timedelta(minutes=10))
        groups.setdefault(index, []).append(sample["value"])
    return [(len(v), min(v), max(v), math.fsum(v) / len(v)) for _, v in sorted(groups.items())]


async def _check_buckets(archive: Archive, samples: list[dict[str, Any]], start: datetime) -> None:
    response = await archive.get(
        "/bus_voltage/samples", start=iso(start), stop=iso(start + timedelta(minutes=30)), count=3
    )
    assert response.status_code == 200, response.text
    got = [(b["count"], b["min"], b["max"], b["avg"]) for b in response.json()["buckets"]]
    for (n, low, high, mean), (count, lo, hi, avg) in zip(
        _ten_minute_truth(samples, start), got, strict=True
    ):
        assert (count, lo, hi) == (n, low, high)
        assert math.isclose(avg, mean, rel_tol=1e-12)


async def test_old_samples_are_reduced_to_minutes_and_still_queryable(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    keep_days = app.state.settings.telemetry_raw_retention_days
    old_start = (datetime.now(UTC) - timedelta(days=keep_days + 10)).replace(
        second=0, microsecond=0
    )
    old = series("bus_voltage", old_start, 1800)  # 30 minutes at 1 Hz
    recent = series("bus_voltage", datetime.now(UTC) - timedelta(days=1), 60)
    await archive.post(old, sequence=1)
    await archive.post(recent, sequence=2)

    assert await _retention(app, dry_run=True) == 1800
    assert await stored_counts(app) == (1860, 2)
    assert await _retention(app, dry_run=False) == 1800

    assert await stored_counts(app) == (60, 2)
    assert await _aggregate_rows(app) == 30
    await _check_buckets(archive, old, old_start)
    assert await _retention(app, dry_run=False) == 0

    # A late sample for an already reduced minute is merged into its aggregate.
    late = [
        {"parameter": "bus_voltage", "time": iso(old_start + timedelta(seconds=0.5)), "value": 39.5}
    ]
    await archive.post(late, sequence=3)
    assert await _retention(app, dry_run=False) == 1
    assert await _aggregate_rows(app) == 30
    await _check_buckets(archive, old + late, old_start)


# -- minute aggregates past their retention become hour aggregates --------------------------


async def _reductions(app: FastAPI, *, dry_run: bool = False) -> tuple[int, int]:
    """(raw samples, minute aggregates) one retention run reduced."""
    async with session_scope(app.state.sessionmaker) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Hours are UTC's whatever the session's zone, including a half-hour offset one.
            await session.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
        report = await run_retention(session, app.state.settings, dry_run=dry_run)
    affected = {r.data_class: r.affected for r in report.classes}
    return affected["telemetry_raw_samples"], affected["telemetry_minute_aggregates"]


async def _archive_rows(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored sample and aggregate, to tell whether a run changed anything."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with session_scope(app.state.sessionmaker) as session:
        for model in (TelemetrySample, TelemetryAggregate, TelemetryHourAggregate):
            result = await session.execute(select(model.__table__))
            rows[model.__tablename__] = sorted(tuple(row) for row in result)
    return rows


def _brute_force_buckets(
    samples: list[dict[str, Any]], start: datetime, stop: datetime, count: int
) -> dict[int, tuple[int, float, float, float]]:
    width = (stop - start) / count
    groups: dict[int, list[float]] = {}
    for sample in samples:
        moment = datetime.fromisoformat(sample["time"])
        if start <= moment < stop:
            groups.setdefault(int((moment - start) // width), []).append(sample["value"])
    return {i: (len(v), min(v), max(v), math.fsum(v) / len(v)) for i, v in groups.items()}


async def _check_hour_aligned_buckets(
    archive: Archive, samples: list[dict[str, Any]], start: datetime, stop: datetime, count: int
) -> None:
    response = await archive.get(
        "/bus_voltage/samples", start=iso(start), stop=iso(stop), count=count
    )
    assert response.status_code == 200, response.text
    got = {
        i: (b["count"], b["min"], b["max"], b["avg"])
        for i, b in enumerate(response.json()["buckets"])
        if b["count"]
    }
    truth = _brute_force_buckets(samples, start, stop, count)
    assert got.keys() == truth.keys()
    for index, (n, low, high, mean) in truth.items():
        count_got, lo, hi, avg = got[index]
        assert (count_got, lo, hi) == (n, low, high)
        assert math.isclose(avg, mean, rel_tol=1e-12)


def _distinct(samples: list[dict[str, Any]], unit: timedelta) -> int:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return len({(datetime.fromisoformat(s["time"]) - epoch) // unit for s in samples})


async def test_old_minutes_are_reduced_to_hours_and_buckets_stay_exact(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    settings = app.state.settings
    archive = await make_archive(client, factory)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    minute_days = settings.telemetry_minute_retention_days
    raw_days = settings.telemetry_raw_retention_days
    # Two stretches past the minute retention, one between the two retentions, one raw;
    # none starts on a whole minute, several minutes and hours hold many samples.
    hour_zone = series(
        "bus_voltage", hour - timedelta(days=minute_days + 15, minutes=-17, seconds=-3), 1500, 7
    ) + series("bus_voltage", hour - timedelta(days=minute_days + 5, minutes=-5), 600, 11.5)
    minute_zone = series(
        "bus_voltage", hour - timedelta(days=(minute_days + raw_days) // 2, minutes=-33), 1000, 3
    )
    raw_zone = series("bus_voltage", hour - timedelta(days=raw_days // 2, minutes=-2), 500, 13)
    everything = hour_zone + minute_zone + raw_zone
    for sequence, part in enumerate((hour_zone, minute_zone, raw_zone), start=1):
        assert (await archive.post(part, sequence=sequence)).status_code == 201

    assert await _reductions(app, dry_run=True) == (len(hour_zone) + len(minute_zone), 0)
    assert await _reductions(app) == (
        len(hour_zone) + len(minute_zone),
        _distinct(hour_zone, timedelta(minutes=1)),
    )
    rows = await _archive_rows(app)
    assert len(rows["telemetry_samples"]) == len(raw_zone)
    assert len(rows["telemetry_aggregates_1m"]) == _distinct(minute_zone, timedelta(minutes=1))
    assert len(rows["telemetry_aggregates_1h"]) == _distinct(hour_zone, timedelta(hours=1))

    # Hour-aligned buckets: daily over all three kinds of storage, hourly over each.
    whole_start = hour - timedelta(days=minute_days + 20)
    await _check_hour_aligned_buckets(archive, everything, whole_start, hour, minute_days + 20)
    for part in (hour_zone[:1500], hour_zone[1500:], minute_zone, raw_zone):
        first = datetime.fromisoformat(part[0]["time"]).replace(minute=0, second=0, microsecond=0)
        await _check_hour_aligned_buckets(
            archive, everything, first - timedelta(hours=2), first + timedelta(hours=6), 8
        )

    # Reducing again changes nothing.
    assert await _reductions(app) == (0, 0)
    assert await _archive_rows(app) == rows

    # A late sample for an hour already reduced folds through minutes into that hour.
    late_time = datetime.fromisoformat(hour_zone[0]["time"]) + timedelta(seconds=1.25)
    late = [{"parameter": "bus_voltage", "time": iso(late_time), "value": 39.75}]
    assert (await archive.post(late, sequence=9)).status_code == 201
    assert await _reductions(app) == (1, 1)
    after = await _archive_rows(app)
    assert len(after["telemetry_aggregates_1h"]) == len(rows["telemetry_aggregates_1h"])
    await _check_hour_aligned_buckets(
        archive, everything + late, late_time.replace(minute=0, second=0, microsecond=0), hour, 1
    )


async def test_long_span_buckets_count_reduced_samples_once(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """Hour summaries describe samples wherever retention moved them: a query of long
    buckets over raw samples, minute aggregates and the hours between them counts each
    sample once (against a brute force over what was sent)."""
    archive = await make_archive(client, factory)
    keep_days = app.state.settings.telemetry_raw_retention_days
    old_start = (datetime.now(UTC) - timedelta(days=keep_days + 3)).replace(second=0, microsecond=0)
    samples = series("bus_voltage", old_start, 4 * 288, step_s=300)  # four days, every 5 min
    for sequence, first in enumerate(range(0, len(samples), 500)):
        response = await archive.post(samples[first : first + 500], sequence=sequence)
        assert response.status_code == 201, response.text
    assert await _retention(app, dry_run=False) > 0  # three of the days are past retention
    async with session_scope(app.state.sessionmaker) as session:
        summarised = (
            await session.execute(select(func.sum(TelemetryHourSummary.count)))
        ).scalar_one()
    assert summarised == len(samples)

    start = old_start - timedelta(hours=1, minutes=13)
    stop = old_start + timedelta(days=4, hours=2)
    response = await archive.get("/bus_voltage/samples", start=iso(start), stop=iso(stop), count=9)

    assert response.status_code == 200, response.text
    span_us = (stop - start) // timedelta(microseconds=1)
    truth: dict[int, list[float]] = {}
    for sample in samples:
        offset_us = (datetime.fromisoformat(sample["time"]) - start) // timedelta(microseconds=1)
        truth.setdefault(offset_us * 9 // span_us, []).append(sample["value"])
    buckets = response.json()["buckets"]
    assert [b["count"] for b in buckets] == [len(truth.get(i, [])) for i in range(9)]
    for index, bucket in enumerate(buckets):
        if values := truth.get(index):
            assert (bucket["min"], bucket["max"]) == (min(values), max(values))
            assert math.isclose(bucket["avg"], math.fsum(values) / len(values), rel_tol=1e-12)
