"""POST /ml/threat-detector/predict: the network's probabilities on exactly the inputs of the
CCDM intent assessment, with the rule-based category beside them; another organisation's
spacecraft is not found; bad bodies name the field; each prediction is logged."""

from __future__ import annotations

import math

from fastapi import FastAPI

from astroshield.catalog.service import import_element_sets
from astroshield.db import session_scope
from astroshield.ml.threat_detector import CLASS_NAMES
from astroshield.ml.threat_detector import MODEL_VERSION as THREAT_VERSION
from tests.catalog.conftest import PUBLIC
from tests.ccdm.scenarios import GEO_DAYS, geo_chaser, geo_distant, geo_target
from tests.conftest import Factory
from tests.mlops.support import PREDICTIONS, ml_apps

PREDICT = "/api/v1/ml/threat-detector/predict"
PROBLEM = "application/problem+json"


async def _scene(app: FastAPI, factory: Factory) -> tuple[str, dict[str, str]]:
    """A protected GEO spacecraft (90001) with a chaser (90002) and a distant GEO object
    (90004) in the public catalog; the spacecraft id and a viewer's headers."""
    async with session_scope(app.state.sessionmaker) as session:
        for history in (geo_target(), geo_chaser(), geo_distant()):
            result = await import_element_sets(session, history, "threat-test", PUBLIC)
            assert not result.rejected
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="90001")
    return str(spacecraft.id), await factory.login(organisation, role="viewer")


async def test_the_chaser_and_the_distant_object_get_their_classes_beside_the_rules(
    app: FastAPI, database_url: str, factory: Factory
) -> None:
    spacecraft_id, viewer = await _scene(app, factory)
    async with ml_apps(database_url) as (replica,):
        client = replica.client
        chaser = await client.post(
            PREDICT,
            json={"spacecraft_id": spacecraft_id, "catalog_number": "90002", "days": GEO_DAYS},
            headers=viewer,
        )
        distant = await client.post(
            PREDICT,
            json={"spacecraft_id": spacecraft_id, "catalog_number": "90004", "days": GEO_DAYS},
            headers=viewer,
        )
        intent = await client.get(
            f"/api/v1/ccdm/spacecraft/{spacecraft_id}/intent/90002",
            params={"days": GEO_DAYS},
            headers=viewer,
        )
        logged = await client.get(PREDICTIONS, headers=viewer)
    assert chaser.status_code == 200, chaser.text
    assert distant.status_code == 200, distant.text
    body = chaser.json()
    assert (body["model"], body["version"]) == ("threat_detector", THREAT_VERSION)
    assert list(body["probabilities"]) == list(CLASS_NAMES)
    assert math.isclose(sum(body["probabilities"].values()), 1.0, rel_tol=1e-5)
    assert body["predicted_class"] == max(body["probabilities"], key=body["probabilities"].get)
    # Built to manoeuvre toward the spacecraft and close on it: the network says so, and the
    # rules, on the same inputs, agree with the intent endpoint.
    assert body["predicted_class"] == "rendezvous_proximity"
    assert body["rule_category"] == intent.json()["category"]
    assert body["window_start"] == intent.json()["window_start"]
    assert distant.json()["predicted_class"] == "nominal"
    entries = [e for e in logged.json()["items"] if e["endpoint"] == "threat-detector/predict"]
    assert len(entries) == 2


async def test_another_organisations_spacecraft_is_not_found(
    app: FastAPI, database_url: str, factory: Factory
) -> None:
    spacecraft_id, _ = await _scene(app, factory)
    stranger = await factory.login(await factory.organisation(), role="viewer")
    async with ml_apps(database_url) as (replica,):
        response = await replica.client.post(
            PREDICT,
            json={"spacecraft_id": spacecraft_id, "catalog_number": "90002"},
            headers=stranger,
        )
        logged = await replica.client.get(PREDICTIONS, headers=stranger)
    assert response.status_code == 404, response.text
    assert logged.json()["items"] == []


async def test_bad_bodies_are_422_naming_the_field(
    app: FastAPI, database_url: str, factory: Factory
) -> None:
    spacecraft_id, viewer = await _scene(app, factory)
    cases = {
        "catalog number": (
            {"spacecraft_id": spacecraft_id, "catalog_number": "9X"},
            "catalog_number",
        ),
        "days": ({"spacecraft_id": spacecraft_id, "catalog_number": "90002", "days": 0}, "days"),
        "spacecraft id": ({"spacecraft_id": "nope", "catalog_number": "90002"}, "spacecraft_id"),
        "itself": ({"spacecraft_id": spacecraft_id, "catalog_number": "90001"}, "catalog_number"),
    }
    async with ml_apps(database_url) as (replica,):
        for name, (payload, field) in cases.items():
            response = await replica.client.post(PREDICT, json=payload, headers=viewer)
            assert response.status_code == 422, (name, response.text)
            assert response.headers["content-type"] == PROBLEM
            locations = [error["loc"] for error in response.json()["errors"]]
            assert ["body", field] in locations, (name, locations)
