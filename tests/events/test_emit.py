"""Domain events are written to the outbox by the real API actions, in their transaction,
as CloudEvents envelopes that match the published schemas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from astroshield.catalog.service import import_element_sets
from astroshield.conjunction.service.intake import ingest_cdm
from astroshield.db import session_scope
from astroshield.events.catalogue import EVENT_TYPES
from astroshield.events.service import outbox_of
from astroshield.security.actor import Actor
from astroshield.security.principal import Principal
from astroshield.security.scopes import scopes_for
from tests.catalog.conftest import PUBLIC
from tests.catalog.test_provenance import JSON, UPLOAD, omm, public_iss
from tests.ccdm.scenarios import GEO_DAYS, geo_chaser, geo_target
from tests.conftest import Factory
from tests.conjunction.conftest import operator_with, upload
from tests.events.support import cdm_body, of_type, outbox
from tests.telemetry.support import iso, make_archive
from tests.telemetry.test_limits import put_limits


async def test_cdm_uploads_emit_created_then_updated_and_the_red_alert(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "44001")
    now = datetime.now(UTC)
    first = await upload(client, cdm_body("YELLOW", 10.0, 30, now), me.headers)
    assert first.status_code == 201, first.text
    second = await upload(client, cdm_body("RED", 20.0, 20, now), me.headers)
    assert second.status_code == 201, second.text
    resent = await upload(client, cdm_body("RED", 20.0, 20, now), me.headers)
    assert resent.status_code == 200  # a re-sent message changes nothing: no event

    events = await outbox(app, me.organisation.id)
    [created] = of_type(events, "conjunction.created")
    [updated] = of_type(events, "conjunction.updated")
    assert events.index(created) < events.index(updated)
    event = second.json()["event"]
    assert created["subject"] == updated["subject"] == event["id"]
    assert created["source"] == f"/astroshield/{me.organisation.slug}"
    assert created["specversion"] == "1.0"
    assert created["datacontenttype"] == "application/json"
    assert created["data"]["tier"] == "yellow"
    assert created["data"]["message_id"] == "YELLOW"
    assert updated["data"]["tier"] == "red"
    assert updated["data"]["pc"] == pytest.approx(event["pc"], rel=1e-12)
    assert updated["data"]["tca"] == event["tca"]
    assert updated["data"]["miss_distance_km"] == pytest.approx(event["miss_distance_m"] / 1e3)
    assert updated["data"]["cdm_id"] == second.json()["cdm"]["id"]
    # The red tier raised an alert; its change is an event in the same transaction.
    changes = of_type(events, "alert.changed")
    assert [(e["data"]["change"], e["data"]["severity"]) for e in changes] == [
        ("fired", "warning"),
        ("escalated", "critical"),
    ]
    assert {e["data"]["labels"]["event_id"] for e in changes} == {event["id"]}


async def test_a_rolled_back_change_writes_no_event(app: FastAPI, factory: Factory) -> None:
    me = await operator_with(factory, "44001")
    user = await factory.user(me.organisation, role="analyst")
    principal = Principal(
        user_id=user.id,
        organisation_id=user.organisation_id,
        role=user.role,
        scopes=scopes_for(user.role, platform_admin=False),
        token_id="test",
        token_expires_at=datetime.now(UTC) + timedelta(minutes=5),
        auth_method="bearer",
    )
    body = cdm_body("ROLLED-BACK", 10.0, 1, datetime.now(UTC))

    async def store_then_fail() -> None:
        async with session_scope(app.state.sessionmaker) as session:
            await ingest_cdm(
                session,
                principal,
                app.state.settings,
                body,
                "text/plain",
                actor=Actor(str(user.id), me.organisation.id),
            )
            written = await outbox_of(session, me.organisation.id)
            assert "conjunction.created" in [row.type for row in written]  # in the transaction
            raise RuntimeError("a failure after the CDM was stored, before the commit")

    with pytest.raises(RuntimeError, match="after the CDM"):
        await store_then_fail()
    assert await outbox(app, me.organisation.id) == []


async def test_catalog_upload_emits_catalog_refreshed(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "25544")
    response = await client.post(UPLOAD, content=omm(public_iss()), headers=me.headers | JSON)
    assert response.status_code in (200, 201), response.text
    [refreshed] = of_type(await outbox(app, me.organisation.id), "catalog.refreshed")
    assert refreshed["data"] == {
        "catalog": "overlay",
        "source": refreshed["data"]["source"],
        "inserted": 1,
        "already_present": 0,
        "rejected": 0,
    }


async def test_failed_screening_emits_screening_finished(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "44001")
    body = {
        "spacecraft_id": str(me.spacecraft.id),
        "start": "2026-01-01T00:00:00Z",
        "days": 1,
        "threshold_km": 10,
    }
    response = await client.post("/api/v1/conjunctions/screenings", json=body, headers=me.headers)
    assert response.status_code == 202, response.text
    await asyncio.gather(*list(app.state.background_tasks))
    [finished] = of_type(await outbox(app, me.organisation.id), "screening.finished")
    assert finished["subject"] == response.json()["id"]
    assert finished["data"]["status"] == "failed"
    assert "44001" in finished["data"]["error"]


async def test_telemetry_alarm_emits_telemetry_alarm(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    limits = {"ranges": {"critical": {"low": 24.0, "high": 30.5}}, "min_violations": 1}
    saved = await put_limits(archive, limits)
    assert saved.status_code == 200, saved.text
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    samples = [
        {"parameter": "bus_voltage", "time": iso(t0 + timedelta(seconds=i)), "value": v}
        for i, v in enumerate([28.0, 31.0])
    ]
    assert (await archive.post(samples, sequence=1)).status_code == 201
    [alarm] = of_type(await outbox(app, archive.organisation.id), "telemetry.alarm")
    assert alarm["subject"] == archive.spacecraft_id
    assert alarm["data"]["parameter"] == "bus_voltage"
    assert alarm["data"]["value"] == 31.0
    assert alarm["data"]["level"] == "critical"
    assert alarm["data"]["previous_level"] is None
    assert alarm["data"]["time"] == iso(t0 + timedelta(seconds=1))


async def test_event_schemas_are_published(client: httpx.AsyncClient) -> None:
    listed = await client.get("/api/v1/events/schemas")
    assert listed.status_code == 200
    assert [item["type"] for item in listed.json()["items"]] == list(EVENT_TYPES)
    for item in listed.json()["items"]:
        schema = await client.get(item["schema_url"])
        assert schema.status_code == 200
        assert schema.headers["content-type"].startswith("application/schema+json")
        body = schema.json()
        assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert body["properties"]["type"] == {"const": item["type"]}
    unknown = await client.get("/api/v1/events/schemas/conjunction.deleted")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"][-1] == "event_type"


async def test_ccdm_detections_and_intent_changes_match_their_schemas(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """``maneuver.detected`` (the chaser burns once) and ``intent.changed`` (first
    assessment of the pair) from the API, each checked against its schema by ``outbox``."""
    async with session_scope(app.state.sessionmaker) as session:
        await import_element_sets(session, [*geo_target(), *geo_chaser()], "ccdm-test", PUBLIC)
    organisation = await factory.organisation()
    target = await factory.spacecraft(organisation, catalog_number="90001")
    await factory.spacecraft(organisation, catalog_number="90002")
    headers = await factory.login(organisation, role="viewer")
    maneuvers = await client.get("/api/v1/ccdm/objects/90002/maneuvers", headers=headers)
    assert maneuvers.status_code == 200, maneuvers.text
    intent = await client.get(
        f"/api/v1/ccdm/spacecraft/{target.id}/intent/90002",
        params={"days": GEO_DAYS},
        headers=headers,
    )
    assert intent.status_code == 200, intent.text
    events = await outbox(app, organisation.id)
    (detected,) = of_type(events, "maneuver.detected")
    assert detected["data"]["catalog_number"] == "90002"
    (changed,) = of_type(events, "intent.changed")
    assert changed["data"]["category"] == intent.json()["category"]
