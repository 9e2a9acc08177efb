"""A potential_threat assessment goes through the alert engine to the webhook, once."""

from __future__ import annotations

import json

import httpx

from astroshield.alerts.notifiers import SIGNATURE_HEADER, verify_signature
from astroshield.catalog.service import import_element_sets
from astroshield.db import session_scope
from tests.alerts.conftest import WEBHOOK_SECRET, app_with_webhook, dispatched
from tests.catalog.conftest import PUBLIC
from tests.ccdm.scenarios import GEO_DAYS, geo_chaser, geo_target
from tests.conftest import Factory


async def test_potential_threat_reaches_the_webhook_once(scratch_database_url: str) -> None:
    async with app_with_webhook(scratch_database_url) as (app, receiver):
        async with session_scope(app.state.sessionmaker) as session:
            await import_element_sets(session, [*geo_target(), *geo_chaser()], "ccdm-test", PUBLIC)
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
                await dispatched(app)

    (request,) = receiver.requests
    assert verify_signature(
        WEBHOOK_SECRET.encode(), request.headers[SIGNATURE_HEADER.lower()], request.body
    )
    payload = json.loads(request.body)
    assert payload["rule"] == "ccdm-potential-threat"
    assert payload["severity"] == "critical"
    assert payload["labels"]["object"] == "90002"
    assert payload["labels"]["category"] == "potential_threat"
    assert payload["labels"]["spacecraft"] == spacecraft.name
