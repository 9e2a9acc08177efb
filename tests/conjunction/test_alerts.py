"""A red conjunction goes through the alert engine: one lifecycle, one notification path."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.alerts.models import Alert
from astroshield.alerts.notifiers import SIGNATURE_HEADER, verify_signature
from astroshield.alerts.service import observe
from astroshield.astro.conjunction.risk import Tier, assess
from astroshield.conjunction.service.alerting import pc_alert_rule
from astroshield.db import session_scope
from tests.alerts.conftest import WEBHOOK_SECRET, app_with_webhook, dispatched
from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.conjunction.conftest import operator_with, upload


async def test_red_tier_reaches_the_webhook_exactly_once(scratch_database_url: str) -> None:
    # Operators are paged for red only; yellow stays on the alert list.
    async with app_with_webhook(scratch_database_url, alert_webhook_min_severity="critical") as (
        app,
        receiver,
    ):
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
                await dispatched(app)
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
        WEBHOOK_SECRET.encode(), request.headers[SIGNATURE_HEADER.lower()], request.body
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


@pytest.mark.parametrize(
    ("pc", "severity", "tier"),
    [
        (1e-4, "critical", Tier.RED),
        (math.nextafter(1e-4, 0.0), "warning", Tier.YELLOW),
        (1e-5, "warning", Tier.YELLOW),
        (math.nextafter(1e-5, 0.0), None, Tier.GREEN),
    ],
    ids=["red-bound", "just-below-red", "yellow-bound", "just-below-yellow"],
)
async def test_alert_severity_follows_the_cara_tier_at_its_bounds(
    app: FastAPI, factory: Factory, pc: float, severity: str | None, tier: Tier
) -> None:
    """CARA's tiers start at their bounds: red is Pc >= 1e-4, yellow Pc >= 1e-5."""
    now = datetime.now(UTC)
    assert assess(tca=now, now=now, miss_distance_km=0.1, pc=pc).tier is tier
    organisation = await factory.organisation()
    async with session_scope(app.state.sessionmaker) as session:
        rule = await pc_alert_rule(session, organisation.id)
        await observe(session, rule, pc, now, labels={"event_id": "at-the-bound"})
        alert = (await session.execute(select(Alert))).scalar_one_or_none()
    if severity is None:
        assert alert is None  # green: a quiet rule leaves no alert behind
    else:
        assert alert is not None
        assert (alert.status, alert.severity) == ("firing", severity)
