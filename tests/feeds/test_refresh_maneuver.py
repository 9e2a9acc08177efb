"""The whole path an operator relies on: a scheduled refresh fetches element sets from the
provider, one of them after a burn, and `maneuver.detected` is announced, once, to the
platform and to the organisation that owns the satellite, through the follow-up the
service wires by default (not a recorder of the test's own)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from astroshield.astro.formats.omm import format_omm_json
from astroshield.catalog.service import import_element_sets
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.feeds.followups import default_followups
from astroshield.feeds.service import RefreshRequest, Tools, refresh
from tests.catalog.conftest import PUBLIC
from tests.ccdm.scenarios import geo_chaser
from tests.conftest import Factory
from tests.events.support import of_type, outbox
from tests.feeds.providers import CelesTrak, FakeClock, running
from tests.feeds.support import feed_settings

BURN_AFTER = datetime(2024, 11, 8, tzinfo=UTC)  # the chaser's first set after its burn


async def test_a_refresh_bringing_a_manoeuvred_set_announces_maneuver_detected(
    app: FastAPI, settings: Settings, factory: Factory
) -> None:
    history = geo_chaser()
    before = [item for item in history if item.epoch < BURN_AFTER]
    after = [item for item in history if item.epoch >= BURN_AFTER]
    number = history[0].catalog_number
    async with session_scope(app.state.sessionmaker) as session:
        await import_element_sets(session, before, "earlier refreshes", PUBLIC)
    owner, bystander = await factory.organisation(), await factory.organisation()
    await factory.spacecraft(owner, catalog_number=number)

    provider = CelesTrak(groups={f"{number}&json": format_omm_json(after)})
    clock = FakeClock()
    configured = feed_settings(settings, "", ccdm_followup_screenings=False)
    request = RefreshRequest("celestrak", catalog_numbers=[number])
    async with running(provider) as base, httpx.AsyncClient() as http:
        configured = feed_settings(configured, base)
        followups = default_followups(configured)
        report = await refresh(
            app.state.sessionmaker,
            configured,
            request,
            followups=followups,
            tools=Tools(http, clock, clock.sleep),
        )
    assert report.inserted == len(after) and report.new_catalog_numbers == [number]
    assert report.followup_errors == []

    detected = of_type(await outbox(app, owner.id), "maneuver.detected")
    assert len(detected) == 1
    data = detected[0]["data"]
    assert data["catalog_number"] == number
    assert datetime.fromisoformat(data["interval_stop"]) <= BURN_AFTER
    assert of_type(await outbox(app, bystander.id), "maneuver.detected") == []
    assert json.dumps(detected[0])  # a JSON envelope, as published
