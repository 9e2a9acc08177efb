"""Export: CSV and Parquet streams parse back (with pyarrow) to exactly what was stored."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import httpx
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tests.conftest import Factory
from tests.telemetry.support import T0, iso, make_archive, series


async def _archived(
    client: httpx.AsyncClient, factory: Factory
) -> tuple[Any, list[tuple[str, datetime, float]]]:
    archive = await make_archive(client, factory)
    voltage = series("bus_voltage", T0, 1500)
    temperature = series("panel_temp", T0, 700, step_s=2.5)
    noise = series("reboots", T0, 10)  # not exported
    await archive.post(voltage + temperature, sequence=1)
    await archive.post([{**s, "value": 1} for s in noise], sequence=2)
    expected = sorted(
        [
            (s["parameter"], datetime.fromisoformat(s["time"]), s["value"])
            for s in voltage + temperature
            if datetime.fromisoformat(s["time"]) < T0 + timedelta(minutes=20)
        ],
        key=lambda row: (row[0] != "bus_voltage", row[1]),
    )
    return archive, expected


def _rows(table: Any) -> list[tuple[Any, ...]]:
    columns = [table.column(name).to_pylist() for name in ("parameter", "time", "value")]
    return list(zip(*columns, strict=True))


async def test_csv_export_parses_back_identical(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive, expected = await _archived(client, factory)

    response = await archive.get(
        "/export",
        parameters="bus_voltage,panel_temp",
        start=iso(T0),
        stop=iso(T0 + timedelta(minutes=20)),
        format="csv",
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    table = pa_csv.read_csv(io.BytesIO(response.content))
    assert _rows(table) == expected


async def test_parquet_export_parses_back_identical(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive, expected = await _archived(client, factory)

    response = await archive.get(
        "/export",
        parameters="bus_voltage,panel_temp",
        start=iso(T0),
        stop=iso(T0 + timedelta(minutes=20)),
        format="parquet",
    )

    assert response.status_code == 200, response.text
    table = pq.read_table(io.BytesIO(response.content))
    assert _rows(table) == expected


async def test_export_of_an_unknown_parameter_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    response = await archive.get(
        "/export", parameters="bus_voltage,ghost", start=iso(T0), stop=iso(T0 + timedelta(hours=1))
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "parameters"]
