"""CCDM API: proximity, maneuvers, pattern of life and intent over the stored catalog.

Element sets go into the catalog through ``import_element_sets`` (the catalog's own import);
every number the API returns is compared with the pure library run on the same sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from astroshield.astro.ccdm.intent import IndicatorName, IntentConfig, assess_intent
from astroshield.astro.ccdm.maneuvers import detect_maneuvers
from astroshield.astro.ccdm.pattern_of_life import learn_pattern_of_life
from astroshield.astro.ccdm.rpo import analyze_neighbour
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import format_omm_json
from astroshield.astro.formats.tle import iter_tles
from astroshield.catalog.service import import_element_sets
from astroshield.db import session_scope
from astroshield.organisations.models import Organisation
from astroshield.spacecraft.models import Spacecraft
from tests.astro.paths import SHARED
from tests.catalog.conftest import PUBLIC
from tests.ccdm.scenarios import (
    GEO_DAYS,
    START,
    geo_chaser,
    geo_distant,
    geo_station_keeper,
    geo_target,
)
from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_cdm, omitron_pc_for_20m
from tests.conjunction.conftest import upload

STOP = START + timedelta(days=GEO_DAYS)
FENGYUN_TLE = SHARED / "data" / "maneuvers" / "processed_files" / "Fengyun-2F.tle"
SOURCE = "ccdm-test"


async def _import(app: FastAPI, sets: Sequence[ElementSet], source: str = SOURCE) -> None:
    async with session_scope(app.state.sessionmaker) as session:
        result = await import_element_sets(session, sets, source, PUBLIC)
    assert not result.rejected


@dataclass
class Operator:
    organisation: Organisation
    spacecraft: Spacecraft
    headers: dict[str, str]


@pytest.fixture
async def scene(app: FastAPI, factory: Factory) -> Operator:
    """A protected GEO spacecraft (90001) with a chaser (90002), a station keeper (90003)
    and a distant GEO object (90004) in the catalog."""
    for history in (geo_target(), geo_chaser(), geo_station_keeper(), geo_distant()):
        await _import(app, history)
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="90001")
    return Operator(organisation, spacecraft, await factory.login(organisation, role="viewer"))


def _intent_url(operator: Operator, catalog_number: str) -> str:
    return f"/api/v1/ccdm/spacecraft/{operator.spacecraft.id}/intent/{catalog_number}"


def _library_assessment(neighbour: list[ElementSet]) -> Any:
    detections = detect_maneuvers(neighbour)
    report = analyze_neighbour(geo_target(), neighbour, START, STOP, detections=detections)
    pattern = learn_pattern_of_life(neighbour, detections=detections)
    return assess_intent(now=STOP, proximity=report, pattern=pattern, config=IntentConfig())


async def test_intent_of_the_chaser_shows_the_measured_evidence(
    client: httpx.AsyncClient, scene: Operator
) -> None:
    response = await client.get(
        _intent_url(scene, "90002"), params={"days": GEO_DAYS}, headers=scene.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["category"] in {"rendezvous_inspection", "potential_threat"}
    assert body["window_start"].startswith("2024-11-01T00:00:00")
    expected = _library_assessment(geo_chaser())
    assert body["category"] == expected.category.value
    assert body["score"] == pytest.approx(expected.score, rel=1e-12)
    by_name = {item["name"]: item for item in body["evidence"]}
    assert list(by_name) == [name.value for name in IndicatorName]
    for indicator in expected.evidence:
        served = by_name[indicator.name.value]
        if indicator.value is None:
            assert served["value"] is None
        else:
            assert served["value"] == pytest.approx(indicator.value, rel=1e-9)
        assert served["threshold"] == indicator.threshold
        assert served["weight"] == indicator.weight
        assert served["contributes"] == indicator.contributes
        assert served["unit"] == indicator.unit
    approach = by_name["approach_trend"]
    assert approach["contributes"] and approach["value"] > 0
    # The source names the element sets (epochs) and where they came from.
    assert "2024-11-01T00:00:00+00:00" in approach["source"]
    assert SOURCE in approach["source"]
    assert by_name["maneuvered_toward"]["value"] == 1


async def test_potential_threat_fires_the_organisations_alert(
    client: httpx.AsyncClient, scene: Operator
) -> None:
    response = await client.get(
        _intent_url(scene, "90002"), params={"days": GEO_DAYS}, headers=scene.headers
    )
    body = response.json()
    assert body["category"] == "potential_threat"
    assert body["threat_alert"] is True
    alerts = (
        await client.get(
            "/api/v1/alerts",
            params={"status": "firing", "rule": "ccdm-potential-threat"},
            headers=scene.headers,
        )
    ).json()["items"]
    (alert,) = alerts
    assert alert["severity"] == "critical"
    assert alert["labels"]["object"] == "90002"
    assert alert["labels"]["spacecraft_id"] == str(scene.spacecraft.id)
    # Asking again does not make a second alert.
    await client.get(_intent_url(scene, "90002"), params={"days": GEO_DAYS}, headers=scene.headers)
    again = await client.get(
        "/api/v1/alerts", params={"rule": "ccdm-potential-threat"}, headers=scene.headers
    )
    assert len(again.json()["items"]) == 1


async def test_distant_object_is_nominal_and_raises_nothing(
    client: httpx.AsyncClient, scene: Operator
) -> None:
    response = await client.get(
        _intent_url(scene, "90004"), params={"days": GEO_DAYS}, headers=scene.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["category"] in {"nominal_station_keeping", "unknown"}
    assert body["threat_alert"] is False
    expected = _library_assessment(geo_distant())
    closest = next(i for i in body["evidence"] if i["name"] == "closest_approach")
    assert closest["value"] == pytest.approx(
        expected.indicator(IndicatorName.CLOSEST_APPROACH).value, rel=1e-9
    )
    alerts = await client.get("/api/v1/alerts", headers=scene.headers)
    assert alerts.json()["items"] == []


async def test_intent_with_a_conjunction_input(client: httpx.AsyncClient, scene: Operator) -> None:
    params = {"days": GEO_DAYS, "miss_distance_km": 0.3, "tca": "2024-11-16T00:00:00Z"}
    body = await client.get(_intent_url(scene, "90004"), params=params, headers=scene.headers)
    risk = _conjunction_risk(body)
    assert risk["value"] == 0.3 and risk["unit"] == "km" and risk["contributes"]
    missing = await client.get(
        _intent_url(scene, "90004"), params={"miss_distance_km": 0.3}, headers=scene.headers
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["query", "tca"]


async def test_intent_uses_the_stored_conjunction_of_the_pair(
    client: httpx.AsyncClient, scene: Operator, factory: Factory
) -> None:
    analyst = await factory.login(scene.organisation, role="analyst")
    now = datetime.now(UTC)
    message = omitron_cdm(
        primary="90001",
        secondary="90004",
        tca=now + timedelta(days=2),
        creation=now - timedelta(hours=1),
        message_id="INTENT-PAIR-1",
    )
    uploaded = await upload(client, kvn(message), analyst)
    assert uploaded.status_code == 201, uploaded.text
    event = uploaded.json()["event"]

    body = await client.get(
        _intent_url(scene, "90004"), params={"days": GEO_DAYS}, headers=scene.headers
    )
    risk = _conjunction_risk(body)
    assert risk["value"] == event["pc"] and risk["unit"] == "probability"
    # Omitron case A with a 20 m combined radius: CARA's independent Pc.
    assert risk["value"] == pytest.approx(omitron_pc_for_20m(), rel=1e-3)
    assert f"conjunction event {event['id']}" in risk["source"]
    assert event["tca"][:19] in risk["source"]

    # Another pair's event, and a caller who may not read conjunctions, see none.
    other = await client.get(
        _intent_url(scene, "90002"), params={"days": GEO_DAYS}, headers=scene.headers
    )
    assert _conjunction_risk(other)["value"] is None
    user = await factory.user(scene.organisation, role="viewer")
    narrow = {"Authorization": f"Bearer {factory.token(user, scopes=['ccdm:read'])}"}
    blind = await client.get(_intent_url(scene, "90004"), params={"days": GEO_DAYS}, headers=narrow)
    assert _conjunction_risk(blind)["value"] is None


def _conjunction_risk(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    evidence: list[dict[str, Any]] = response.json()["evidence"]
    return next(item for item in evidence if item["name"] == "conjunction_risk")


async def test_proximity_lists_co_located_neighbours(
    client: httpx.AsyncClient, scene: Operator
) -> None:
    response = await client.get(
        f"/api/v1/ccdm/spacecraft/{scene.spacecraft.id}/proximity",
        params={"days": GEO_DAYS},
        headers=scene.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["catalog_number"] == "90001"
    # The set valid at the window start and every set in the window.
    assert len(body["protected_element_set_epochs"]) == GEO_DAYS + 1
    neighbours = {n["catalog_number"]: n for n in body["neighbours"]}
    assert set(neighbours) == {"90002", "90003"}  # 90004 is 30° away
    chaser = neighbours["90002"]
    assert chaser["trend"] == "approaching"
    assert chaser["closing_rate_km_per_day"] > 0
    assert chaser["maneuvered_toward"] is True
    expected = analyze_neighbour(geo_target(), geo_chaser(), START, STOP)
    assert chaser["closing_rate_km_per_day"] == pytest.approx(
        expected.closing_rate_km_per_day, rel=1e-9
    )
    assert chaser["closest_approach_km"] == pytest.approx(expected.closest_approach_km, rel=1e-9)
    assert len(chaser["daily"]) == GEO_DAYS
    assert neighbours["90003"]["trend"] == "station_keeping_nearby"


async def test_maneuvers_of_an_object(client: httpx.AsyncClient, scene: Operator) -> None:
    response = await client.get("/api/v1/ccdm/objects/90002/maneuvers", headers=scene.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["element_set_count"] == GEO_DAYS + 1
    assert body["sources"] == [SOURCE]
    (maneuver,) = body["maneuvers"]
    (expected,) = detect_maneuvers(geo_chaser())
    assert maneuver["before_epoch"].startswith("2024-11-07T00:00:00")
    assert maneuver["after_epoch"].startswith("2024-11-08T00:00:00")
    assert maneuver["delta_v_m_s"] == pytest.approx(expected.delta_v_m_s, rel=1e-9)
    windowed = await client.get(
        "/api/v1/ccdm/objects/90002/maneuvers",
        params={"start": "2024-11-01T00:00:00Z", "stop": "2024-11-05T00:00:00Z"},
        headers=scene.headers,
    )
    assert windowed.json()["maneuvers"] == []
    backwards = await client.get(
        "/api/v1/ccdm/objects/90002/maneuvers",
        params={"start": "2024-11-05T00:00:00Z", "stop": "2024-11-01T00:00:00Z"},
        headers=scene.headers,
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["loc"] == ["query", "stop"]


@pytest.mark.slow
async def test_pattern_of_life_of_a_real_geo_satellite(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    # Fengyun-2F (NORAD 38049), published slot 112°E: its 2019 history.
    sets = [
        tle.elements
        for tle in iter_tles(FENGYUN_TLE.read_text(encoding="utf-8"))
        if tle.elements.epoch.year == 2019
    ]
    await _import(app, sets, "space-track gp_history")
    headers = await factory.login(role="viewer")
    response = await client.get("/api/v1/ccdm/objects/38049/pattern-of-life", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_geo"] is True
    box = body["longitude_box_deg"]
    assert box["low"] < 112.0 < box["high"] and box["high"] - box["low"] < 1.0
    expected = learn_pattern_of_life(sets)
    assert body["element_set_count"] == expected.element_set_count
    assert box["median"] == pytest.approx(expected.longitude_box_deg.median, rel=1e-12)
    assert body["cadence"]["count"] == expected.cadence.count
    assert body["sources"] == ["space-track gp_history"]


async def test_another_organisations_spacecraft_is_not_found(
    client: httpx.AsyncClient, scene: Operator, factory: Factory
) -> None:
    outsider = await factory.login(role="admin")
    for url in (
        _intent_url(scene, "90002"),
        f"/api/v1/ccdm/spacecraft/{scene.spacecraft.id}/proximity",
    ):
        response = await client.get(url, headers=outsider)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_bad_and_unknown_catalog_numbers_are_problems(
    client: httpx.AsyncClient, scene: Operator
) -> None:
    bad = await client.get(_intent_url(scene, "12X45"), headers=scene.headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["loc"] == ["path", "catalog_number"]
    for url in (
        "/api/v1/ccdm/objects/12X45/maneuvers",
        "/api/v1/ccdm/objects/12X45/pattern-of-life",
    ):
        response = await client.get(url, headers=scene.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["path", "catalog_number"]
    unknown = await client.get(_intent_url(scene, "77777"), headers=scene.headers)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    self_assessment = await client.get(_intent_url(scene, "90001"), headers=scene.headers)
    assert self_assessment.status_code == 422
    too_long = await client.get(
        _intent_url(scene, "90002"), params={"days": 1000}, headers=scene.headers
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["loc"] == ["query", "days"]


async def test_spacecraft_without_catalog_number(
    client: httpx.AsyncClient, app: FastAPI, factory: Factory
) -> None:
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number=None)
    headers = await factory.login(organisation, role="viewer")
    response = await client.get(
        f"/api/v1/ccdm/spacecraft/{spacecraft.id}/proximity", headers=headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "spacecraft_id"]


async def test_ccdm_read_scope_is_required(
    client: httpx.AsyncClient, scene: Operator, factory: Factory
) -> None:
    user = await factory.user(role="viewer")
    token = factory.token(user, scopes=["spacecraft:read"])
    response = await client.get(
        "/api/v1/ccdm/objects/90002/maneuvers", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


async def test_another_organisations_uploads_change_none_of_our_analyses(
    client: httpx.AsyncClient, scene: Operator, factory: Factory
) -> None:
    """Organisation X uploads a calm history for the chaser (a station keeper's, under its
    number, at the same epochs) and a later set for the protected spacecraft: everything the
    scene's organisation reads stays as it was; X's own analyses use its uploads."""
    urls = {
        "proximity": f"/api/v1/ccdm/spacecraft/{scene.spacecraft.id}/proximity",
        "maneuvers": "/api/v1/ccdm/objects/90002/maneuvers",
        "pattern": "/api/v1/ccdm/objects/90002/pattern-of-life",
        "intent": _intent_url(scene, "90002"),
    }

    async def reads(operator: Operator) -> dict[str, Any]:
        bodies = {}
        for name, url in urls.items():
            response = await client.get(
                url.replace(str(scene.spacecraft.id), str(operator.spacecraft.id)),
                params={"days": GEO_DAYS} if name in {"proximity", "intent"} else {},
                headers=operator.headers,
            )
            assert response.status_code == 200, response.text
            bodies[name] = response.json()
        return bodies

    before = await reads(scene)
    assert before["intent"]["category"] == "potential_threat"
    x = await factory.organisation()
    x_analyst = await factory.login(x, role="analyst")
    calm = geo_station_keeper(catalog_number="90002")
    later = replace(geo_target()[-1], epoch=STOP + timedelta(hours=6))
    uploaded = await client.post(
        "/api/v1/catalog/element-sets",
        content=format_omm_json([*calm, later]),
        headers=x_analyst | {"content-type": "application/json"},
    )
    assert uploaded.status_code == 200, uploaded.text

    assert await reads(scene) == before
    x_operator = Operator(
        x,
        await factory.spacecraft(x, catalog_number="90001"),
        await factory.login(x, role="viewer"),
    )
    theirs = await reads(x_operator)
    assert theirs["intent"]["category"] != "potential_threat"
    assert theirs["maneuvers"]["sources"] == [
        "upload:application/json (your organisation's upload)"
    ]
    assert theirs["proximity"]["window_stop"] != before["proximity"]["window_stop"]
