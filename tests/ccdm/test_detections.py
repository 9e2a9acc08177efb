"""Stored manoeuvre detections and intent categories, and the events that announce them once:
the catalog-import follow-up (``after_catalog_import``) and the API paths.

The histories are the constructed GEO scenes of :mod:`tests.ccdm.scenarios`: the chaser
(90002) burns once on day 6.3, between its sets of 2024-11-07 and 2024-11-08; the target
(90001) and the distant object (90004) never manoeuvre.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.alerts.notifiers import Notification
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import format_omm_json
from astroshield.catalog.service import import_element_sets
from astroshield.ccdm.detections import ImportFollowUp, after_catalog_import
from astroshield.ccdm.models import IntentAssessmentRecord, ManeuverDetectionRecord
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.events.catalogue import event_schema
from astroshield.events.models import OutboxEvent
from tests.catalog.conftest import PUBLIC
from tests.ccdm.scenarios import GEO_DAYS, geo_chaser, geo_distant, geo_station_keeper, geo_target
from tests.conftest import Factory
from tests.events.support import of_type, outbox

BURN_BEFORE = datetime(2024, 11, 7, tzinfo=UTC)
BURN_AFTER = datetime(2024, 11, 8, tzinfo=UTC)


async def _import(app: FastAPI, *histories: Sequence[ElementSet]) -> None:
    async with session_scope(app.state.sessionmaker) as session:
        result = await import_element_sets(
            session, [item for history in histories for item in history], "ccdm-test", PUBLIC
        )
    assert not result.rejected


def _settings(app: FastAPI, **overrides: Any) -> Settings:
    settings: Settings = app.state.settings
    return settings.model_copy(update={"ccdm_followup_screenings": False, **overrides})


async def _follow_up(
    app: FastAPI,
    numbers: Sequence[str],
    *,
    organisation_id: uuid.UUID | None = None,
    notify: Callable[[Notification], Awaitable[None]] | None = None,
    **overrides: Any,
) -> ImportFollowUp:
    async with session_scope(app.state.sessionmaker) as session:
        return await after_catalog_import(
            session,
            _settings(app, **overrides),
            numbers,
            organisation_id=organisation_id,
            notify=notify,
        )


async def _platform_events(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    async with session_scope(app.state.sessionmaker) as session:
        rows = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.organisation_id.is_(None), OutboxEvent.type == event_type)
                .order_by(OutboxEvent.sequence)
            )
        ).all()
    validator = jsonschema_rs.Draft202012Validator(event_schema(event_type), validate_formats=True)
    for row in rows:
        validator.validate(row.envelope)
        assert row.subject == f"astroshield.events._platform.{event_type}"
    return [row.envelope for row in rows]


async def _detections(app: FastAPI) -> list[ManeuverDetectionRecord]:
    async with session_scope(app.state.sessionmaker) as session:
        return list((await session.scalars(select(ManeuverDetectionRecord))).all())


# ------------------------------------------------------------------ detections


async def test_a_refresh_with_a_manoeuvre_is_announced_once_to_its_owner(
    app: FastAPI, factory: Factory
) -> None:
    await _import(app, geo_target(), geo_chaser(), geo_distant())
    owner = await factory.organisation()
    await factory.spacecraft(owner, catalog_number="90002")  # its own satellite moved
    other = await factory.organisation()
    await factory.spacecraft(other, catalog_number="90001")

    first = await _follow_up(app, ["90001", "90002", "90004", "77777"])
    assert (first.objects, first.objects_analysed, first.detections_stored) == (4, 3, 1)
    again = await _follow_up(app, ["90002"])
    assert again.detections_stored == 0

    (stored,) = await _detections(app)
    assert stored.organisation_id is None
    assert (stored.interval_start, stored.interval_stop) == (BURN_BEFORE, BURN_AFTER)
    assert stored.before_element_set_id is not None and stored.after_element_set_id is not None

    (platform,) = await _platform_events(app, "maneuver.detected")
    assert platform["subject"] == "90002"
    data = platform["data"]
    assert data["catalog_number"] == "90002"
    assert data["scope"] == "public"
    assert data["interval_start"] == "2024-11-07T00:00:00Z"
    assert data["interval_stop"] == "2024-11-08T00:00:00Z"
    assert data["delta_v_m_s"] > 0 and data["score_sigma"] >= data["threshold_sigma"]
    assert data["detector"] == "astroshield.astro.ccdm.maneuvers"

    (theirs,) = of_type(await outbox(app, owner.id), "maneuver.detected")
    assert theirs["data"] == data
    assert theirs["id"] != platform["id"]
    assert of_type(await outbox(app, other.id), "maneuver.detected") == []


async def test_the_api_stores_what_it_detects_and_announces_it_once(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, geo_chaser())
    owner = await factory.organisation()
    await factory.spacecraft(owner, catalog_number="90002")
    headers = await factory.login(role="viewer")  # anyone may ask; the owner is told
    for _ in range(2):
        response = await client.get("/api/v1/ccdm/objects/90002/maneuvers", headers=headers)
        assert response.status_code == 200, response.text
        assert len(response.json()["maneuvers"]) == 1
    assert len(await _platform_events(app, "maneuver.detected")) == 1
    assert len(of_type(await outbox(app, owner.id), "maneuver.detected")) == 1
    # The follow-up finds the same burn stored.
    assert (await _follow_up(app, ["90002"])).detections_stored == 0


async def test_a_detection_on_an_overlay_belongs_to_its_organisation_alone(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    uploader = await factory.organisation()
    analyst = await factory.login(uploader, role="analyst")
    await factory.spacecraft(uploader, catalog_number="90102")
    bystander = await factory.organisation()
    await factory.spacecraft(bystander, catalog_number="90102")
    chaser = [replace(item, catalog_number="90102") for item in geo_chaser()]
    uploaded = await client.post(
        "/api/v1/catalog/element-sets",
        content=format_omm_json(chaser),
        headers=analyst | {"content-type": "application/json"},
    )
    assert uploaded.status_code == 200, uploaded.text

    public = await _follow_up(app, ["90102"])  # the public catalog does not know it
    assert (public.objects_analysed, public.detections_stored) == (0, 0)
    overlay = await _follow_up(app, ["90102"], organisation_id=uploader.id)
    assert overlay.detections_stored == 1
    assert (await _follow_up(app, ["90102"], organisation_id=uploader.id)).detections_stored == 0
    assert (await _follow_up(app, ["90102"], organisation_id=bystander.id)).objects_analysed == 0

    (stored,) = await _detections(app)
    assert stored.organisation_id == uploader.id
    (event,) = of_type(await outbox(app, uploader.id), "maneuver.detected")
    assert event["data"]["scope"] == "overlay"
    assert of_type(await outbox(app, bystander.id), "maneuver.detected") == []
    assert await _platform_events(app, "maneuver.detected") == []
    viewer = await factory.login(bystander, role="viewer")
    hidden = await client.get("/api/v1/ccdm/objects/90102/maneuvers", headers=viewer)
    assert hidden.status_code == 404


# ---------------------------------------------------------------------- intent


def _intent_url(spacecraft_id: uuid.UUID, catalog_number: str) -> str:
    return f"/api/v1/ccdm/spacecraft/{spacecraft_id}/intent/{catalog_number}"


async def test_intent_changes_are_announced_once_per_change(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, geo_target(), geo_chaser())
    operators = await factory.organisation()
    spacecraft = await factory.spacecraft(operators, catalog_number="90001")
    viewer = await factory.login(operators, role="viewer")
    analyst = await factory.login(operators, role="analyst")
    outsider = await factory.organisation()
    theirs = await factory.spacecraft(outsider, catalog_number="90001")
    outsider_viewer = await factory.login(outsider, role="viewer")
    url = _intent_url(spacecraft.id, "90002")

    for _ in range(2):  # the second assessment finds the same category: nothing to say
        response = await client.get(url, params={"days": GEO_DAYS}, headers=viewer)
        assert response.status_code == 200, response.text
        assert response.json()["category"] == "potential_threat"
    (first,) = of_type(await outbox(app, operators.id), "intent.changed")
    assert first["subject"] == str(spacecraft.id)
    assert first["data"]["previous_category"] is None
    assert first["data"]["category"] == "potential_threat"
    assert first["data"]["catalog_number"] == "90002"

    # The operators upload a calm history for the chaser: the follow-up of that upload
    # re-assesses the stored pair, and the category changes once.
    calm = geo_station_keeper(catalog_number="90002")
    uploaded = await client.post(
        "/api/v1/catalog/element-sets",
        content=format_omm_json(calm),
        headers=analyst | {"content-type": "application/json"},
    )
    assert uploaded.status_code == 200, uploaded.text
    sent: list[Notification] = []

    async def notify(notification: Notification) -> None:
        sent.append(notification)

    follow_up = await _follow_up(app, ["90002"], organisation_id=operators.id, notify=notify)
    assert (follow_up.intents_reassessed, follow_up.intents_changed) == (1, 1)
    assert [n.status for n in sent] == ["resolved"]  # the threat alert, after the commit
    assert sent == follow_up.notifications
    response = await client.get(url, params={"days": GEO_DAYS}, headers=viewer)
    assert response.json()["category"] != "potential_threat"

    changes = of_type(await outbox(app, operators.id), "intent.changed")
    assert len(changes) == 2
    assert changes[1]["data"]["previous_category"] == "potential_threat"
    assert changes[1]["data"]["category"] == response.json()["category"]

    # Another organisation sees none of it, and its own assessment is its own.
    assert of_type(await outbox(app, outsider.id), "intent.changed") == []
    own = await client.get(
        _intent_url(theirs.id, "90002"), params={"days": GEO_DAYS}, headers=outsider_viewer
    )
    assert own.json()["category"] == "potential_threat"
    (their_change,) = of_type(await outbox(app, outsider.id), "intent.changed")
    assert their_change["data"]["previous_category"] is None
    assert len(of_type(await outbox(app, operators.id), "intent.changed")) == 2
    foreign = await client.get(url, params={"days": GEO_DAYS}, headers=outsider_viewer)
    assert foreign.status_code == 404
    async with session_scope(app.state.sessionmaker) as session:
        stored = (await session.scalars(select(IntentAssessmentRecord))).all()
    assert sorted((row.organisation_id, row.category) for row in stored) == sorted(
        [(operators.id, response.json()["category"]), (outsider.id, "potential_threat")]
    )


# ------------------------------------------------------------------- screening


async def test_the_follow_up_screens_the_spacecraft_whose_sets_are_new(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, geo_target(), geo_chaser(), geo_distant())
    owner = await factory.organisation()
    moved = await factory.spacecraft(owner, catalog_number="90002")
    other = await factory.organisation()
    await factory.spacecraft(other, catalog_number="90004")

    follow_up = await _follow_up(app, ["90002"], ccdm_followup_screenings=True)
    ((organisation_id, screening_id),) = follow_up.screenings
    assert organisation_id == owner.id
    # Run once the follow-up committed, through the screening job.
    headers = await factory.login(owner, role="viewer")
    response = await client.get(f"/api/v1/conjunctions/screenings/{screening_id}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded", body
    assert body["spacecraft_id"] == str(moved.id)
    (finished,) = of_type(await outbox(app, owner.id), "screening.finished")
    assert finished["data"]["screening_id"] == str(screening_id)
    assert of_type(await outbox(app, other.id), "screening.finished") == []
    outsider = await factory.login(other, role="viewer")
    hidden = await client.get(f"/api/v1/conjunctions/screenings/{screening_id}", headers=outsider)
    assert hidden.status_code == 404

    everyone = await _follow_up(
        app,
        ["90002"],
        ccdm_followup_screenings=True,
        ccdm_followup_screen_all_spacecraft=True,
    )
    assert sorted(owner_id for owner_id, _ in everyone.screenings) == sorted([owner.id, other.id])


@pytest.mark.parametrize("numbers", [[], ["not a number"]])
async def test_nothing_to_follow_up(app: FastAPI, numbers: list[str]) -> None:
    follow_up = await _follow_up(app, numbers, ccdm_followup_screenings=True)
    assert follow_up == ImportFollowUp(objects=0)


async def test_debris_is_not_searched_for_manoeuvres_unless_asked(app: FastAPI) -> None:
    await _import(app, [replace(item, object_name="FENGYUN 1C DEB") for item in geo_chaser()])
    skipped = await _follow_up(app, ["90002"])
    assert (skipped.objects, skipped.objects_analysed) == (1, 0)
    searched = await _follow_up(app, ["90002"], ccdm_followup_skip_debris=False)
    assert (searched.objects_analysed, searched.detections_stored) == (1, 1)
