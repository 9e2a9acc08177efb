"""Ingest of JSON sample batches: exactly once, all or nothing, every bad sample named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from astroshield.telemetry import validation
from astroshield.telemetry.ingest import IngestGate
from astroshield.telemetry.models import TelemetryParameter
from tests.conftest import Factory
from tests.telemetry.support import T0, iso, make_archive, series, stored_counts


async def test_a_retried_batch_is_acknowledged_again_and_stored_once(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    samples = series("bus_voltage", T0, 50)

    first = await archive.post(samples, sequence=7)
    again = await archive.post(samples, sequence=7)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert first.json()["accepted"] == 50 and first.json()["replayed"] is False
    assert again.json() == {**first.json(), "replayed": True}
    assert await stored_counts(app) == (50, 1)


async def test_an_idempotency_key_makes_a_batch_stored_once(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    body = {"samples": series("panel_temp", T0, 10)}
    headers = {**archive.headers, "Idempotency-Key": "upload-2026-11-01-a"}

    first = await client.post(archive.base, json=body, headers=headers)
    again = await client.post(archive.base, json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["batch_id"] == first.json()["batch_id"]
    assert await stored_counts(app) == (10, 1)


async def test_a_batch_key_reused_for_other_samples_is_refused(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    assert (await archive.post(series("bus_voltage", T0, 5), sequence=1)).status_code == 201

    reused = await archive.post(series("bus_voltage", T0 + timedelta(hours=1), 5), sequence=1)

    assert reused.status_code == 409
    assert await stored_counts(app) == (5, 1)


async def test_a_batch_without_a_key_is_refused_naming_the_fields(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    response = await client.post(
        archive.base, json={"samples": series("bus_voltage", T0, 1)}, headers=archive.headers
    )
    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["errors"]]
    assert locs == [["body", "source_id"], ["body", "sequence"]]


async def test_bad_samples_are_each_listed_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    far_future = datetime.now(UTC) + timedelta(days=2)
    samples = [
        {"parameter": "bus_voltage", "time": iso(T0), "value": 28.1},
        {"parameter": "no_such_thing", "time": iso(T0), "value": 1.0},
        {"parameter": "bus_voltage", "time": iso(T0 + timedelta(seconds=1)), "value": "NAN"},
        {"parameter": "panel_temp", "time": iso(far_future), "value": 20.0},
        {"parameter": "reboots", "time": iso(T0), "value": "three"},
        {"parameter": "bus_voltage", "time": iso(T0 + timedelta(seconds=2)), "value": 99.0},
        {"parameter": "heater_on", "time": "yesterday", "value": True},
        {"parameter": "mode", "time": iso(T0), "value": "exploded"},
        {"parameter": "panel_temp", "time": "2026-11-01T00:00:00", "value": 1.0},
        {"parameter": "reboots", "time": iso(T0), "value": 1.5},
    ]
    # A literal NaN, as Python's json module writes it (not valid JSON, but sent by clients).
    raw = json.dumps({"source_id": "gs-1", "sequence": 1, "samples": samples})
    raw = raw.replace('"NAN"', "NaN")

    response = await client.post(
        archive.base,
        content=raw,
        headers={**archive.headers, "content-type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"].startswith("9 of 10 samples are invalid")
    errors = {tuple(error["loc"]): error["msg"] for error in problem["errors"]}
    assert list(errors) == [
        ("body", "samples", 1, "parameter"),
        ("body", "samples", 2, "value"),
        ("body", "samples", 3, "time"),
        ("body", "samples", 4, "value"),
        ("body", "samples", 5, "value"),
        ("body", "samples", 6, "time"),
        ("body", "samples", 7, "value"),
        ("body", "samples", 8, "time"),
        ("body", "samples", 9, "value"),
    ]
    assert "unknown parameter 'no_such_thing'" in errors[("body", "samples", 1, "parameter")]
    assert "finite" in errors[("body", "samples", 2, "value")]
    assert "future" in errors[("body", "samples", 3, "time")]
    assert "integer" in errors[("body", "samples", 4, "value")]
    assert "valid range" in errors[("body", "samples", 5, "value")]
    assert "UTC offset" in errors[("body", "samples", 8, "time")]
    assert await stored_counts(app) == (0, 0)


async def test_partial_stores_the_valid_samples_and_lists_the_rest(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    samples = [
        *series("bus_voltage", T0, 3),
        {"parameter": "bus_voltage", "time": iso(T0 + timedelta(minutes=5)), "value": -1.0},
    ]
    response = await archive.post(samples, sequence=1, params={"partial": "true"})

    assert response.status_code == 201, response.text
    result = response.json()
    assert result["accepted"] == 3
    assert [r["loc"] for r in result["rejected"]] == [["body", "samples", 3, "value"]]
    assert await stored_counts(app) == (3, 1)


async def test_values_of_every_type_are_stored_as_numbers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    samples = [
        {"parameter": "reboots", "time": iso(T0), "value": 3},
        {"parameter": "heater_on", "time": iso(T0), "value": True},
        {"parameter": "mode", "time": iso(T0), "value": "nominal"},
        {"parameter": "mode", "time": iso(T0 + timedelta(seconds=1)), "value": 0},
        {"parameter": "bus_voltage", "time": "2026-11-01T01:00:00+01:00", "value": 27},
    ]
    assert (await archive.post(samples, sequence=1)).status_code == 201

    latest = {v["parameter"]: v for v in (await archive.get("/latest")).json()}

    assert latest["reboots"]["value"] == 3.0
    assert latest["heater_on"]["value"] == 1.0
    assert latest["mode"]["value"] == 0.0
    assert latest["bus_voltage"]["value"] == 27.0
    assert latest["bus_voltage"]["time"] == "2026-11-01T00:00:00Z"


async def test_a_sample_already_archived_by_another_batch_is_kept_once(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    assert (await archive.post(series("bus_voltage", T0, 3), sequence=1)).status_code == 201

    overlap = await archive.post(series("bus_voltage", T0, 4), source="gs-2", sequence=1)

    assert overlap.status_code == 201, overlap.text
    assert (overlap.json()["accepted"], overlap.json()["duplicates"]) == (1, 3)
    assert await stored_counts(app) == (4, 2)


async def test_a_batch_over_the_size_limit_is_refused(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    limit = app.state.settings.telemetry_max_batch
    sample = {"parameter": "reboots", "time": iso(T0), "value": 1}

    response = await archive.post([sample] * (limit + 1), sequence=1)

    assert response.status_code in (413, 422)
    assert await stored_counts(app) == (0, 0)


async def test_ingest_answers_503_with_retry_after_when_saturated(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    saved = getattr(app.state, "telemetry_ingest_gate", None)
    app.state.telemetry_ingest_gate = IngestGate(0)
    try:
        response = await archive.post(series("bus_voltage", T0, 1), sequence=1)
    finally:
        app.state.telemetry_ingest_gate = saved
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert await stored_counts(app) == (0, 0)


async def test_ingest_moves_the_spacecraft_last_contact_forward(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    await archive.post(series("bus_voltage", T0, 10), sequence=1)
    await archive.post(series("bus_voltage", T0 - timedelta(days=1), 10), sequence=2)

    status = await client.get(
        f"/api/v1/spacecraft/{archive.spacecraft_id}/status", headers=archive.headers
    )

    assert status.json()["last_contact_at"] == "2026-11-01T00:00:09Z"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", ""),
        ("GET", "/parameters"),
        ("GET", "/latest"),
        ("GET", "/bus_voltage"),
        ("GET", "/bus_voltage/samples?start=2026-11-01T00:00:00Z&stop=2026-11-02T00:00:00Z"),
        (
            "GET",
            "/export?parameters=bus_voltage&start=2026-11-01T00:00:00Z&stop=2026-11-02T00:00:00Z",
        ),
    ],
)
async def test_another_organisations_spacecraft_is_not_found(
    client: httpx.AsyncClient, factory: Factory, method: str, path: str
) -> None:
    archive = await make_archive(client, factory)
    stranger = await factory.login(role="operator")
    body = {"source_id": "x", "sequence": 1, "samples": series("bus_voltage", T0, 1)}
    response = await client.request(
        method,
        archive.base + path,
        json=body if method == "POST" else None,
        headers=stranger,
    )
    assert response.status_code == 404, response.text


async def test_a_viewer_can_read_but_not_ingest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    viewer = await factory.login(archive.organisation, role="viewer")
    body = {"source_id": "x", "sequence": 1, "samples": series("bus_voltage", T0, 1)}

    refused = await client.post(archive.base, json=body, headers=viewer)
    allowed = await client.get(archive.base + "/latest", headers=viewer)

    assert (refused.status_code, allowed.status_code) == (403, 200)


async def test_deleting_the_spacecraft_deletes_its_archive(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    other = await make_archive(client, factory)
    await archive.post(series("bus_voltage", T0, 20), sequence=1)
    await other.post(series("bus_voltage", T0, 5), sequence=1)

    deleted = await client.delete(
        f"/api/v1/spacecraft/{archive.spacecraft_id}", headers=archive.headers
    )

    assert deleted.status_code == 204, deleted.text
    assert await stored_counts(app) == (5, 1)


async def test_numbers_a_double_cannot_hold_are_refused_not_crashed_on(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    raw = (
        '{"source_id": "gs-1", "sequence": 1, "samples": ['
        f'{{"parameter": "reboots", "time": "{iso(T0)}", "value": {10**30}}},'
        f'{{"parameter": "panel_temp", "time": "{iso(T0)}", "value": 1e400}},'
        f'{{"parameter": "mode", "time": "{iso(T0)}", "value": {2**70}}}'
        "]}"
    )
    response = await client.post(
        archive.base, content=raw, headers={**archive.headers, "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert [e["loc"][2] for e in response.json()["errors"]] == [0, 1, 2]
    assert await stored_counts(app) == (0, 0)


async def test_a_time_before_year_one_in_utc_is_refused_naming_it(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    samples = [{"parameter": "panel_temp", "time": "0001-01-01T00:30:00+01:00", "value": 1.0}]

    response = await archive.post(samples, sequence=1)

    assert response.status_code == 422, response.text
    assert [(e["loc"], e["msg"]) for e in response.json()["errors"]] == [
        (["body", "samples", 0, "time"], "before 0001-01-01T00:00:00Z")
    ]
    assert await stored_counts(app) == (0, 0)


def test_the_whole_batch_check_agrees_with_the_per_sample_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parameters = {
        p.name: validation.ParameterInfo.of(p)
        for p in [
            TelemetryParameter(id=3, name="volts", type="float", valid_min=0.0, valid_max=40.0),
            TelemetryParameter(id=9, name="temp", type="float"),
            TelemetryParameter(id=2**31 - 1, name="count", type="int"),
        ]
    }
    start = datetime(2026, 11, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    samples = []
    for step in range(50):  # newest first, with an offset: the order and zone must not matter
        moment = (start - timedelta(seconds=step)).isoformat()
        samples += [
            {"parameter": "temp", "time": moment, "value": -0.0 - step},
            {"parameter": "volts", "time": moment, "value": 40.0 - step / 7},
            {"parameter": "count", "time": moment, "value": step if step % 2 else float(step)},
        ]
    now = datetime(2026, 11, 2, tzinfo=UTC)
    took_whole: list[bool] = []
    whole_batch = validation._plain_batch

    def spy(*args: Any) -> Any:
        columns = whole_batch(*args)
        took_whole.append(columns is not None)
        return columns

    monkeypatch.setattr(validation, "_plain_batch", spy)
    whole = validation.validate_samples(samples, parameters, now=now, max_future_s=300)
    monkeypatch.setattr(validation, "_plain_batch", lambda *args: None)
    each = validation.validate_samples(samples, parameters, now=now, max_future_s=300)

    assert took_whole == [True]
    assert whole.errors == each.errors == []
    assert whole.samples.parameter_ids.tolist() == each.samples.parameter_ids.tolist()
    assert whole.samples.times_us.tolist() == each.samples.times_us.tolist()
    assert whole.samples.values.tobytes() == each.samples.values.tobytes()
