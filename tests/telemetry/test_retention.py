"""Raw samples past the retention become minute aggregates that still answer bucket queries."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from astroshield.db import session_scope
from astroshield.retention.service import run_retention
from astroshield.telemetry.models import TelemetryAggregate
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
