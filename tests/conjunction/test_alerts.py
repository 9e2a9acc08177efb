"""A red conjunction goes through the alert engine: one lifecycle, one notification path."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from astroshield.alerts.notifiers import SIGNATURE_HEADER, verify_signature
from astroshield.app import create_app
from astroshield.migrate import upgrade_async
from tests.conftest import Factory, settings_for
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.conjunction.conftest import operator_with, upload
from tests.support.receivers import HttpReceiver

SECRET = "conjunction-webhook-secret-for-tests"


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
        # Operators are paged for red only; yellow stays on the alert list.
        alert_webhook_min_severity="critical",
        alert_memory_percent=100,
        alert_cpu_percent=100,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def _dispatched(app: FastAPI) -> None:
    """Wait for the notifications the requests handed to the background."""
    await asyncio.gather(*list(app.state.background_tasks))


async def test_red_tier_reaches_the_webhook_exactly_once(
    notifying_app: FastAPI, receiver: HttpReceiver
) -> None:
    app = notifying_app
    factory = Factory(app)
    me = await operator_with(factory, "44001")
    now = datetime.now(UTC)
    tca = now + timedelta(days=2)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def send(name: str, hbr_each_m: float, hours_ago: float) -> dict[str, object]:
            message = omitron_cdm(
                primary="44001",
                secondary="44002",
                tca=tca,
                creation=now - timedelta(hours=hours_ago),
                message_id=name,
                hbr_each_m=hbr_each_m,
            )
            response = await upload(client, kvn(message), me.headers)
            assert response.status_code in (200, 201), response.text
            await _dispatched(app)
            event: dict[str, object] = response.json()["event"]
            return event

        assert (await send("YELLOW", 10.0, 30))["tier"] == "yellow"
        assert receiver.requests == []  # a warning: listed, not paged
        red = await send("RED", 20.0, 20)
        assert red["tier"] == "red"
        assert (await send("RED", 20.0, 20))["tier"] == "red"  # re-sent: nothing new
        assert (await send("STILL-RED", 22.0, 10))["tier"] == "red"  # same severity

        alerts = (
            await client.get("/api/v1/alerts", params={"status": "firing"}, headers=me.headers)
        ).json()["items"]

    (request,) = receiver.requests
    assert request.headers["x-astroshield-event"] == "escalated"
    assert verify_signature(
        SECRET.encode(), request.headers[SIGNATURE_HEADER.lower()], request.body
    )
    payload = json.loads(request.body)
    assert payload["severity"] == "critical"
    assert payload["labels"]["event_id"] == red["id"]
    assert payload["labels"]["secondary"] == "44002"
    assert payload["labels"]["spacecraft"] == me.spacecraft.name
    assert payload["value"] > 1e-4
    (alert,) = alerts
    assert alert["severity"] == "critical"
    assert alert["labels"]["event_id"] == red["id"]
