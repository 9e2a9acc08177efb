"""Shared helpers of the telemetry archive tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from astroshield.db import session_scope
from astroshield.organisations.models import Organisation
from astroshield.telemetry.models import TelemetryBatch, TelemetrySample
from tests.conftest import Factory

DICTIONARY = [
    {"name": "bus_voltage", "type": "float", "unit": "V", "valid_min": 0, "valid_max": 40},
    {"name": "panel_temp", "type": "float", "unit": "degC"},
    {"name": "reboots", "type": "int"},
    {"name": "heater_on", "type": "bool"},
    {"name": "mode", "type": "enum", "enum_labels": {"0": "safe", "1": "nominal"}},
]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Archive:
    """One operator's spacecraft with the test dictionary, and the calls the tests make."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        spacecraft_id: str,
        organisation: Organisation,
    ) -> None:
        self.client = client
        self.headers = headers
        self.spacecraft_id = spacecraft_id
        self.organisation = organisation

    @property
    def base(self) -> str:
        return f"/api/v1/spacecraft/{self.spacecraft_id}/telemetry"

    async def post(
        self, samples: list[dict[str, Any]], *, sequence: int, source: str = "gs-1", **kw: Any
    ) -> httpx.Response:
        body = {"source_id": source, "sequence": sequence, "samples": samples}
        return await self.client.post(self.base, json=body, headers=self.headers, **kw)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.base + path, params=params, headers=self.headers)


async def make_archive(client: httpx.AsyncClient, factory: Factory) -> Archive:
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation)
    headers = await factory.login(organisation, role="operator")
    archive = Archive(client, headers, str(spacecraft.id), organisation)
    response = await client.put(archive.base + "/parameters", json=DICTIONARY, headers=headers)
    assert response.status_code == 200, response.text
    return archive


def series(name: str, start: datetime, count: int, step_s: float = 1.0) -> list[dict[str, Any]]:
    """A deterministic, irregular-looking float series (no two samples at one time)."""
    return [
        {
            "parameter": name,
            "time": iso(start + timedelta(seconds=i * step_s)),
            "value": 28.0 + ((i * 7919) % 1000) / 997.0 - (i % 13) * 0.01,
        }
        for i in range(count)
    ]


async def stored_counts(app: FastAPI) -> tuple[int, int]:
    """(samples, batches) in the database."""
    async with session_scope(app.state.sessionmaker) as session:
        samples = (
            await session.execute(select(func.count()).select_from(TelemetrySample))
        ).scalar_one()
        batches = (
            await session.execute(select(func.count()).select_from(TelemetryBatch))
        ).scalar_one()
    return int(samples), int(batches)


def some_uuid() -> str:
    return str(uuid.uuid4())
