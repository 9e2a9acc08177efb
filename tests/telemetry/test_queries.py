"""Queries: raw pages, buckets computed in the database (checked by brute force), latest."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.db import session_scope
from astroshield.telemetry.models import TelemetryHourSummary
from tests.conftest import Factory
from tests.telemetry.support import T0, iso, make_archive, series


def _brute_force_buckets(
    samples: list[dict[str, Any]], start: datetime, stop: datetime, count: int
) -> list[tuple[int, float | None, float | None, float | None]]:
    """Bucket i holds start + i*(stop-start)/count <= t < start + (i+1)*(stop-start)/count,
    decided in exact integer microseconds."""
    span_us = (stop - start) // timedelta(microseconds=1)
    members: list[list[float]] = [[] for _ in range(count)]
    for sample in samples:
        offset_us = (datetime.fromisoformat(sample["time"]) - start) // timedelta(microseconds=1)
        if 0 <= offset_us < span_us:
            members[offset_us * count // span_us].append(sample["value"])
    return [
        (len(v), min(v), max(v), math.fsum(v) / len(v)) if v else (0, None, None, None)
        for v in members
    ]


async def test_buckets_match_a_brute_force_computation(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    # Two hours at 1 Hz with a 25-minute gap, and a window reaching past both ends.
    samples = series("bus_voltage", T0, 3000) + series(
        "bus_voltage", T0 + timedelta(seconds=4500), 2700
    )
    for sequence, first in enumerate(range(0, len(samples), 2000)):
        response = await archive.post(samples[first : first + 2000], sequence=sequence)
        assert response.status_code == 201, response.text
    start, stop, count = T0 - timedelta(minutes=10), T0 + timedelta(hours=2, minutes=7), 37

    response = await archive.get(
        "/bus_voltage/samples", start=iso(start), stop=iso(stop), count=count
    )

    assert response.status_code == 200, response.text
    buckets = response.json()["buckets"]
    expected = _brute_force_buckets(samples, start, stop, count)
    assert len(buckets) == count
    assert any(n == 0 for n, *_ in expected) and sum(n for n, *_ in expected) == len(samples)
    for bucket, (n, low, high, mean) in zip(buckets, expected, strict=True):
        assert bucket["count"] == n
        assert bucket["min"] == low and bucket["max"] == high
        if mean is None:
            assert bucket["avg"] is None
        else:
            assert math.isclose(bucket["avg"], mean, rel_tol=1e-12)
    assert buckets[0]["start"] == iso(start) and buckets[-1]["stop"] == iso(stop)


async def test_buckets_need_an_ordered_window(client: httpx.AsyncClient, factory: Factory) -> None:
    archive = await make_archive(client, factory)
    response = await archive.get("/bus_voltage/samples", start=iso(T0), stop=iso(T0), count=5)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "stop"]


async def test_buckets_default_to_the_last_24_hours_ending_now(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    before = datetime.now(UTC)
    # 26 h of history ending an hour ago: the first two hours fall outside the default window
    # and the last hour is a silence the operator must see as empty buckets.
    samples = series("bus_voltage", before - timedelta(hours=26), 2000, step_s=45.0)
    response = await archive.post(samples, sequence=1)
    assert response.status_code == 201, response.text

    response = await archive.get("/bus_voltage/samples", count=24)
    after = datetime.now(UTC)

    assert response.status_code == 200, response.text
    body = response.json()
    start, stop = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["stop"])
    assert before <= stop <= after
    assert stop - start == timedelta(hours=24)
    expected = _brute_force_buckets(samples, start, stop, 24)
    assert [b["count"] for b in body["buckets"]] == [n for n, *_ in expected]
    assert 0 < sum(n for n, *_ in expected) < len(samples)
    assert body["buckets"][-1]["count"] == 0


async def test_buckets_fill_the_missing_edge_of_the_window(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    stop = T0 + timedelta(hours=30)
    response = await archive.get("/bus_voltage/samples", stop=iso(stop), count=4)
    assert response.status_code == 200, response.text
    assert response.json()["start"] == iso(stop - timedelta(hours=24))

    before = datetime.now(UTC)
    response = await archive.get("/bus_voltage/samples", start=iso(T0), count=4)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["start"] == iso(T0)
    assert before <= datetime.fromisoformat(body["stop"]) <= datetime.now(UTC)


async def test_buckets_refuse_a_count_out_of_range(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    for count in (0, 10_001):
        response = await archive.get("/bus_voltage/samples", count=count)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["loc"] == ["query", "count"]


async def test_buckets_refuse_a_start_after_the_default_stop(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    start = datetime.now(UTC) + timedelta(hours=1)
    response = await archive.get("/bus_voltage/samples", start=iso(start))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "stop"]


async def test_raw_samples_page_forward_and_backward(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    samples = series("panel_temp", T0, 25)
    await archive.post(samples, sequence=1)

    for order, expected in (("asc", samples), ("desc", samples[::-1])):
        seen: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 10, "order": order}
            if cursor:
                params["cursor"] = cursor
            page = (await archive.get("/panel_temp", **params)).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [(s["time"], s["value"]) for s in seen] == [
            (s["time"], s["value"]) for s in expected
        ]
        assert all(s["limit"] is None for s in seen)  # no limits defined


async def test_raw_samples_respect_the_window(client: httpx.AsyncClient, factory: Factory) -> None:
    archive = await make_archive(client, factory)
    await archive.post(series("panel_temp", T0, 10), sequence=1)

    page = await archive.get(
        "/panel_temp", start=iso(T0 + timedelta(seconds=2)), stop=iso(T0 + timedelta(seconds=5))
    )

    assert [s["time"] for s in page.json()["items"]] == [
        iso(T0 + timedelta(seconds=s)) for s in (2, 3, 4)
    ]


async def test_an_unknown_parameter_is_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    assert (await archive.get("/nope")).status_code == 404


async def test_latest_is_the_newest_sample_of_every_parameter(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    voltage = series("bus_voltage", T0, 30)
    temperature = series("panel_temp", T0 + timedelta(hours=1), 5)
    # Sent out of order: latest goes by sample time, not by arrival.
    await archive.post(voltage[20:], sequence=1)
    await archive.post(voltage[:20] + temperature, sequence=2)

    latest = {v["parameter"]: v for v in (await archive.get("/latest")).json()}

    assert latest["bus_voltage"]["time"] == voltage[-1]["time"]
    assert latest["bus_voltage"]["value"] == voltage[-1]["value"]
    assert latest["panel_temp"]["value"] == temperature[-1]["value"]
    assert latest["reboots"]["time"] is None and latest["reboots"]["value"] is None
    assert set(latest) == {"bus_voltage", "panel_temp", "reboots", "heater_on", "mode"}


async def _hour_summaries(
    app: FastAPI,
) -> dict[tuple[int, datetime], tuple[int, float, float, float]]:
    async with session_scope(app.state.sessionmaker) as session:
        rows = await session.execute(select(TelemetryHourSummary.__table__))
        return {(p, hour): (n, low, high, total) for p, hour, n, low, high, total in rows}


async def test_long_spans_answer_from_hour_summaries_exactly(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """Buckets of hours take whole hours from their summaries: the answer must still be
    the brute force over the samples, after a batch that repeats stored samples (the stored
    value wins and is not counted twice) and one that fills hours already summarised."""
    archive = await make_archive(client, factory)
    first = series("bus_voltage", T0, 1234, step_s=420)  # six days, every 7 minutes
    repeated = [{**sample, "value": sample["value"] + 5} for sample in first[100:200]]
    late = series("bus_voltage", T0 + timedelta(seconds=97), 300, step_s=1331)
    for sequence, batch in enumerate((first, repeated + late[::-1])):
        response = await archive.post(batch, sequence=sequence)
        assert response.status_code == 201, response.text
    # A time already stored keeps its first value.
    stored = list({sample["time"]: sample for sample in late + first}.values())

    truth: dict[datetime, list[float]] = {}
    for sample in stored:
        moment = datetime.fromisoformat(sample["time"])
        truth.setdefault(moment.replace(minute=0, second=0, microsecond=0), []).append(
            sample["value"]
        )
    summaries = await _hour_summaries(app)
    assert sorted(hour for _, hour in summaries) == sorted(truth)
    for (_, hour), (n, low, high, total) in summaries.items():
        values = truth[hour]
        assert (n, low, high) == (len(values), min(values), max(values))
        assert math.isclose(total, math.fsum(values), rel_tol=1e-12)

    start = T0 + timedelta(minutes=17, seconds=3)
    for stop, count in ((T0 + timedelta(days=5, hours=19), 23), (T0 + timedelta(days=7), 5)):
        response = await archive.get(
            "/bus_voltage/samples", start=iso(start), stop=iso(stop), count=count
        )
        assert response.status_code == 200, response.text
        buckets = response.json()["buckets"]
        assert response.json()["width_s"] >= 4 * 3600
        for bucket, (n, low, high, mean) in zip(
            buckets, _brute_force_buckets(stored, start, stop, count), strict=True
        ):
            assert (bucket["count"], bucket["min"], bucket["max"]) == (n, low, high)
            if mean is not None:
                assert math.isclose(bucket["avg"], mean, rel_tol=1e-12)
