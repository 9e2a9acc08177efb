"""A potential_threat assessment goes through the alert engine to the webhook, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from astroshield.alerts.notifiers import SIGNATURE_HEADER, verify_signature
from astroshield.app import create_app
from astroshield.catalog.service import import_element_sets
from astroshield.db import session_scope
from astroshield.migrate import upgrade_async
from tests.ccdm.scenarios import GEO_DAYS, geo_chaser, geo_target
from tests.conftest import Factory, settings_for
from tests.support.receivers import HttpReceiver

SECRET = "ccdm-webhook-secret-for-tests"


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = HttpReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def notifying_app(
    scratch_database_url: str, receiver: HttpReceiver
) -> AsyncIterator[FastAPI]:
    await upgrade_async(settings_for(scratch_database_url))
    settings = settings_for(
        scratch_database_url,
        alert_webhook_urls=[receiver.url],
        alert_webhook_secret=SECRET,
        alert_webhook_base_delay_s=0.01,
        alert_memory_percent=100,
        alert_cpu_percent=100,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_potential_threat_reaches_the_webhook_once(
    notifying_app: FastAPI, receiver: HttpReceiver
) -> None:
    app = notifying_app
    async with session_scope(app.state.sessionmaker) as session:
        await import_element_sets(session, [*geo_target(), *geo_chaser()], "ccdm-test")
    factory = Factory(app)
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="90001")
    headers = await factory.login(organisation, role="viewer")
    url = f"/api/v1/ccdm/spacecraft/{spacecraft.id}/intent/90002"
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(2):  # the second assessment finds the alert already firing
            response = await client.get(url, params={"days": GEO_DAYS}, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["category"] == "potential_threat"
            await asyncio.gather(*list(app.state.background_tasks))

    (request,) = receiver.requests
    assert verify_signature(
        SECRET.encode(), request.headers[SIGNATURE_HEADER.lower()], request.body
    )
    payload = json.loads(request.body)
    assert payload["rule"] == "ccdm-potential-threat"
    assert payload["severity"] == "critical"
    assert payload["labels"]["object"] == "90002"
    assert payload["labels"]["category"] == "potential_threat"
