"""Each optional module answers the documented refusal while its flag is off for the
caller (403 problem+json ``feature-disabled`` naming who decided; a WebSocket closed with
1008 and the reason) and works while it is on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect, aconnect_ws

from astroshield.catalog.service import import_element_sets
from astroshield.db import session_scope
from tests.catalog.conftest import PUBLIC
from tests.ccdm.scenarios import GEO_DAYS, geo_distant, geo_target
from tests.conftest import Factory
from tests.conjunction.conftest import Operator, operator_with
from tests.features.support import assert_disabled, features_of, set_flag
from tests.support.replicas import bearer
from tests.telemetry.support import make_archive
from tests.telemetry.test_live import live_url, websocket_client

SCREENINGS = "/api/v1/conjunctions/screenings"
STREAM = "/api/v1/alerts/stream"


def _screening(me: Operator) -> dict[str, object]:
    return {
        "spacecraft_id": str(me.spacecraft.id),
        "start": "2024-11-01T00:00:00Z",
        "days": 1,
        "threshold_km": 5,
    }


async def test_screening_jobs_off_on_the_platform_refuses_new_jobs(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    platform_admin = await factory.login(role="admin", platform_admin=True)
    me = await operator_with(factory, "2874")
    body = _screening(me)
    await set_flag(client, platform_admin, "screening-jobs", "platform", False)
    refused = await client.post(SCREENINGS, json=body, headers=me.headers)
    assert_disabled(refused, "screening-jobs", "platform")
    assert app.state.background_tasks == set()  # nothing was started

    await set_flag(client, platform_admin, "screening-jobs", "platform", True)
    accepted = await client.post(SCREENINGS, json=body, headers=me.headers)
    assert accepted.status_code == 202, accepted.text
    await asyncio.gather(*list(app.state.background_tasks))
    # Results of jobs stay readable whatever the flag says.
    await set_flag(client, platform_admin, "screening-jobs", "platform", False)
    job = await client.get(f"{SCREENINGS}/{accepted.json()['id']}", headers=me.headers)
    assert job.status_code == 200
    assert job.json()["status"] in {"failed", "succeeded"}  # no catalog: it fails with a reason


async def test_a_feature_off_by_default_says_the_platform_decided(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "2874")
    body = _screening(me)
    base = app.state.base_settings
    app.state.settings = base.model_copy(update={"feature_screening_jobs": False})
    try:
        refused = await client.post(SCREENINGS, json=body, headers=me.headers)
    finally:
        app.state.settings = base
    assert_disabled(refused, "screening-jobs", "platform")
    # Unauthenticated callers are told to authenticate, not what is switched off.
    anonymous = await client.post(SCREENINGS, json=body)
    assert anonymous.status_code == 401


async def test_ccdm_intent_off_for_one_organisation_only(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    async with session_scope(app.state.sessionmaker) as session:
        for history in (geo_target(), geo_distant()):
            result = await import_element_sets(session, history, "features-test", PUBLIC)
            assert not result.rejected
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="90001")
    viewer = await factory.login(organisation, role="viewer")
    admin = await factory.login(organisation, role="admin")
    other = await operator_with(factory, "90001")
    url = f"/api/v1/ccdm/spacecraft/{{}}/intent/90004?days={GEO_DAYS}"

    await set_flag(client, admin, "ccdm-intent", "organisation", False)
    refused = await client.get(url.format(spacecraft.id), headers=viewer)
    assert_disabled(refused, "ccdm-intent", "organisation")
    # Another organisation still has it.
    theirs = await client.get(url.format(other.spacecraft.id), headers=other.headers)
    assert theirs.status_code == 200, theirs.text

    await set_flag(client, admin, "ccdm-intent", "organisation", None)
    assessed = await client.get(url.format(spacecraft.id), headers=viewer)
    assert assessed.status_code == 200, assessed.text
    assert assessed.json()["catalog_number"] == "90004"


async def test_alert_stream_follows_the_live_streams_flag(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    admin = await factory.login(organisation, role="admin")
    user = await factory.user(organisation, role="viewer")
    await set_flag(client, admin, "live-streams", "organisation", False)
    refused = await client.get(STREAM, headers=factory.headers(user))
    assert_disabled(refused, "live-streams", "organisation")

    await set_flag(client, admin, "live-streams", "organisation", True)
    # A token about to expire: the stream opens, then closes as documented.
    lifetime = app.state.security.tokens.access_ttl
    token = factory.token(user, now=datetime.now(UTC) - lifetime + timedelta(seconds=1))
    streamed = await asyncio.wait_for(client.get(STREAM, headers=bearer(token)), 10)
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert streamed.text.startswith(": connected")


async def test_live_telemetry_follows_the_live_streams_flag(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    platform_admin = await factory.login(role="admin", platform_admin=True)
    await set_flag(client, platform_admin, "live-streams", "platform", False)
    async with websocket_client(app) as ws_client:
        with pytest.raises(WebSocketDisconnect) as refused:
            async with aconnect_ws(live_url(archive), ws_client, headers=archive.headers):
                pass
    assert refused.value.code == 1008
    assert refused.value.reason == "the feature 'live-streams' is disabled by the platform"

    await set_flag(client, platform_admin, "live-streams", "platform", None)
    async with (
        websocket_client(app) as ws_client,
        aconnect_ws(live_url(archive), ws_client, headers=archive.headers) as ws,
    ):
        assert await ws.receive_json() == {"type": "subscribed", "parameters": None}


async def test_ml_endpoints_are_off_until_chosen(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """No ML endpoint exists yet; the flag they will declare is off by default and an
    organisation may opt in."""
    admin = await factory.login(role="admin")
    assert (await features_of(client, admin))["ml-endpoints"]["enabled"] is False
    chosen = await set_flag(client, admin, "ml-endpoints", "organisation", True)
    assert (chosen.json()["enabled"], chosen.json()["source"]) == (True, "organisation")
