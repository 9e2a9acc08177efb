"""Screening job end to end on a tiny real catalog, checked against brute-force SGP4, and the
CDM export of what it found.

The objects come from the shared CelesTrak snapshot of 2024-11-01; OPS 5712 (P/L 153, 2874)
and DMSP 5D-2 F13 DEB (42268) pass within ~90 m of each other near 00:59:45 UTC that day (found
with a scratch all-vs-all run of ``astro.screening`` over the whole catalog). The brute-force
reference initialises SGP4 straight from the CSV rows with the sgp4 library's own OMM reader,
not through our element sets.
"""

from __future__ import annotations

import asyncio
import csv
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from astroshield.astro.conjunction.report import pc_report
from astroshield.astro.dynamics.elements import epoch_to_julian_date
from astroshield.astro.formats import cdm as cdm_mod
from astroshield.astro.formats.omm import format_omm_json, parse_omm_csv
from astroshield.catalog.service import import_element_sets
from astroshield.db import session_scope
from tests.astro.paths import CATALOG_CSV
from tests.astro.test_screening_edges import START as EDGE_START
from tests.astro.test_screening_edges import catalog as edge_pairs
from tests.catalog.conftest import PUBLIC
from tests.conftest import Factory
from tests.conjunction.conftest import Operator, operator_with
from tests.support.shared import SHARED_ROOT, shared_path

PRIMARY = "2874"
SECONDARY = "42268"
OTHERS = ("5", "25344", "54490", "40017", "50828")
START = datetime(2024, 11, 1, tzinfo=UTC)
DAYS = 0.1
THRESHOLD_KM = 2.0


def _rows() -> dict[str, dict[str, str]]:
    shared_path(CATALOG_CSV.relative_to(SHARED_ROOT).as_posix())
    wanted = {PRIMARY, SECONDARY, *OTHERS}
    with CATALOG_CSV.open(newline="", encoding="utf-8") as handle:
        return {
            row["NORAD_CAT_ID"]: row
            for row in csv.DictReader(handle)
            if row["NORAD_CAT_ID"] in wanted
        }


def _satrec(row: dict[str, str]) -> Satrec:
    satrec = Satrec()
    sgp4_omm.initialize(satrec, row)
    return satrec


def _positions(satrec: Satrec, times: list[datetime]) -> Any:
    jd = np.array([epoch_to_julian_date(t) for t in times])
    errors, r, _ = satrec.sgp4_array(np.ascontiguousarray(jd[:, 0]), np.ascontiguousarray(jd[:, 1]))
    assert not errors.any()
    return r


def _brute_force(rows: dict[str, dict[str, str]]) -> dict[str, tuple[datetime, float]]:
    """Closest approaches of the primary within the threshold: 1 s scan, then 1 ms."""
    primary = _satrec(rows[PRIMARY])
    coarse = [START + timedelta(seconds=s) for s in range(int(DAYS * 86_400) + 1)]
    p_coarse = _positions(primary, coarse)
    found = {}
    for number, row in rows.items():
        if number == PRIMARY:
            continue
        d = np.linalg.norm(_positions(_satrec(row), coarse) - p_coarse, axis=1)
        # 15 km/s at most: the true minimum is within 7.5 km of the nearest sample's.
        for k in range(1, len(d) - 1):
            if d[k] <= d[k - 1] and d[k] <= d[k + 1] and d[k] < THRESHOLD_KM + 8.0:
                fine = [coarse[k] + timedelta(milliseconds=m) for m in range(-1000, 1001)]
                df = np.linalg.norm(
                    _positions(_satrec(row), fine) - _positions(primary, fine), axis=1
                )
                j = int(np.argmin(df))
                if df[j] <= THRESHOLD_KM:
                    found[number] = (fine[j], float(df[j]))
    return found


async def _catalog(app: FastAPI, rows: dict[str, dict[str, str]]) -> None:
    header = list(next(iter(rows.values())).keys())
    text = (
        ",".join(header) + "\n" + "\n".join(",".join(r[h] for h in header) for r in rows.values())
    )
    async with session_scope(app.state.sessionmaker) as session:
        result = await import_element_sets(session, parse_omm_csv(text), "test:celestrak", PUBLIC)
    assert result.inserted == len(rows)


async def _request_screening(client: httpx.AsyncClient, me: Operator) -> httpx.Response:
    body = {
        "spacecraft_id": str(me.spacecraft.id),
        "start": START.isoformat(),
        "days": DAYS,
        "threshold_km": THRESHOLD_KM,
    }
    return await client.post("/api/v1/conjunctions/screenings", json=body, headers=me.headers)


async def _finished(app: FastAPI) -> None:
    await asyncio.gather(*list(app.state.background_tasks))


@pytest.mark.slow
async def test_screening_finds_the_close_pair_and_exports_it_as_a_cdm(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    rows = _rows()
    await _catalog(app, rows)
    me = await operator_with(factory, PRIMARY)
    response = await _request_screening(client, me)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    screening_id = response.json()["id"]
    await _finished(app)
    job = (
        await client.get(f"/api/v1/conjunctions/screenings/{screening_id}", headers=me.headers)
    ).json()
    assert job["status"] == "succeeded", job
    assert job["objects_screened"] >= 2

    expected = _brute_force(rows)
    assert set(expected) == {SECONDARY}  # the reference agrees this is the close pair
    found = {hit["secondary_catalog_number"]: hit for hit in job["results"]}
    assert set(found) == set(expected)
    hit = found[SECONDARY]
    tca, miss_km = expected[SECONDARY]
    assert abs(datetime.fromisoformat(hit["tca"]) - tca) <= timedelta(milliseconds=2)
    assert hit["miss_distance_km"] == pytest.approx(miss_km, abs=0.03)  # 1 ms at 14 km/s
    assert hit["tier"] == "red"  # under 1 km and no covariance: the miss-distance rule

    event = (await client.get(f"/api/v1/conjunctions/{hit['event_id']}", headers=me.headers)).json()
    assert event["source"] == "screening" and event["pc"] is None
    assert event["tier_basis"] == "miss_distance"
    assert event["secondary_name"] == "DMSP 5D-2 F13 DEB"
    assert event["cdms"] == []

    exported = await client.get(
        f"/api/v1/conjunctions/{hit['event_id']}/cdm", params={"format": "kvn"}, headers=me.headers
    )
    assert exported.status_code == 200, exported.text
    message = cdm_mod.loads(exported.text)
    assert message.object1.metadata.catalog_number() == PRIMARY
    assert message.object2.metadata.catalog_number() == SECONDARY
    assert message.object1.metadata.ref_frame == "GCRF"
    for obj in (message.object1, message.object2):
        assert obj.metadata.covariance_method == "DEFAULT"
        assert any("default" in comment for comment in obj.covariance.comments)
    # Rotations keep lengths: the GCRF states match SGP4's TEME ones in size and separation.
    event_tca = datetime.fromisoformat(event["tca"])
    r1 = _positions(_satrec(rows[PRIMARY]), [event_tca])[0]
    r2 = _positions(_satrec(rows[SECONDARY]), [event_tca])[0]
    assert np.linalg.norm(message.object1.position_km()) == pytest.approx(
        np.linalg.norm(r1), abs=1e-6
    )
    assert np.linalg.norm(message.object2.position_km()) == pytest.approx(
        np.linalg.norm(r2), abs=1e-6
    )
    assert message.relative.miss_distance_m == pytest.approx(
        np.linalg.norm(r1 - r2) * 1e3, abs=1e-3
    )
    report = pc_report(message, hbr_m=20.0, mc_samples=1_000)
    assert 0.0 <= report.pc_2d_foster <= 1.0
    assert report.issues == ()

    as_xml = await client.get(
        f"/api/v1/conjunctions/{hit['event_id']}/cdm", params={"format": "xml"}, headers=me.headers
    )
    assert as_xml.headers["content-type"].startswith("application/xml")
    with warnings.catch_warnings():
        warnings.simplefilter("error", cdm_mod.CdmWarning)  # the default covariance is PD
        from_xml = cdm_mod.loads(as_xml.text)
    assert from_xml.relative == message.relative
    assert from_xml.object1 == message.object1 and from_xml.object2 == message.object2

    # Plots and the avoidance trade need a CDM with covariance; a screening event has none.
    assert (
        await client.get(
            f"/api/v1/conjunctions/{hit['event_id']}/encounter.png", headers=me.headers
        )
    ).status_code == 409


async def test_screening_request_is_bounded_and_scoped(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, PRIMARY)
    other = await operator_with(factory, SECONDARY)
    body = {
        "spacecraft_id": str(me.spacecraft.id),
        "start": START.isoformat(),
        "days": 8,
        "threshold_km": THRESHOLD_KM,
    }
    url = "/api/v1/conjunctions/screenings"
    too_long = await client.post(url, json=body, headers=me.headers)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["loc"] == ["body", "days"]
    too_wide = await client.post(
        url, json=body | {"days": 1, "threshold_km": 1e4}, headers=me.headers
    )
    assert too_wide.json()["errors"][0]["loc"] == ["body", "threshold_km"]
    naive = await client.post(
        url, json=body | {"days": 1, "start": "2024-11-01T00:00:00"}, headers=me.headers
    )
    assert naive.status_code == 422
    not_theirs = await client.post(url, json=body | {"days": 1}, headers=other.headers)
    assert not_theirs.status_code == 404
    unknown = await client.get(f"{url}/{me.spacecraft.id}", headers=me.headers)
    assert unknown.status_code == 404
    viewer = await factory.login(me.organisation, role="viewer")
    assert (await client.post(url, json=body | {"days": 1}, headers=viewer)).status_code == 403


async def test_screening_without_catalog_data_fails_with_a_reason(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, PRIMARY)
    response = await _request_screening(client, me)
    assert response.status_code == 202
    await _finished(app)
    job = (
        await client.get(
            f"/api/v1/conjunctions/screenings/{response.json()['id']}", headers=me.headers
        )
    ).json()
    assert job["status"] == "failed"
    assert PRIMARY in job["error"]


async def test_screening_uses_only_the_requesting_organisations_overlay(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """Organisation A uploads a set of the secondary an hour later in phase (no approach):
    A's own screening uses it, B's screening keeps finding the close pair."""
    rows = _rows()
    await _catalog(app, rows)
    (secondary,) = parse_omm_csv(
        ",".join(rows[SECONDARY]) + "\n" + ",".join(rows[SECONDARY].values())
    )
    moved = replace(secondary, epoch=secondary.epoch + timedelta(hours=1))
    a, b = await operator_with(factory, PRIMARY), await operator_with(factory, PRIMARY)
    uploaded = await client.post(
        "/api/v1/catalog/element-sets",
        content=format_omm_json([moved]),
        headers=a.headers | {"content-type": "application/json"},
    )
    assert uploaded.status_code == 200, uploaded.text

    found: dict[str, set[str]] = {}
    for name, operator in (("a", a), ("b", b)):
        response = await _request_screening(client, operator)
        assert response.status_code == 202, response.text
        await _finished(app)
        job = await client.get(
            f"/api/v1/conjunctions/screenings/{response.json()['id']}", headers=operator.headers
        )
        assert job.json()["status"] == "succeeded", job.text
        found[name] = {hit["secondary_catalog_number"] for hit in job.json()["results"]}
    assert found == {"a": set(), "b": {SECONDARY}}


async def test_screening_job_flags_a_pair_still_closing_at_the_window_end(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """The co-orbiting pairs of tests/astro/test_screening_edges.py through the API: the
    primary's partner is within 300 m and closing at the end of the 6 h window."""
    async with session_scope(app.state.sessionmaker) as session:
        await import_element_sets(session, edge_pairs(), "test:edges", PUBLIC)
    me = await operator_with(factory, "90022")
    body = {
        "spacecraft_id": str(me.spacecraft.id),
        "start": EDGE_START.isoformat(),
        "days": 0.25,
        "threshold_km": 0.5,
    }
    response = await client.post("/api/v1/conjunctions/screenings", json=body, headers=me.headers)
    assert response.status_code == 202, response.text
    await _finished(app)
    job = (
        await client.get(
            f"/api/v1/conjunctions/screenings/{response.json()['id']}", headers=me.headers
        )
    ).json()
    assert job["status"] == "succeeded", job
    (hit,) = job["results"]
    assert hit["secondary_catalog_number"] == "90021"
    assert hit["edge"] == "end"
    assert datetime.fromisoformat(hit["tca"]) == EDGE_START + timedelta(hours=6)
    assert hit["miss_distance_km"] < 0.3
    event = (await client.get(f"/api/v1/conjunctions/{hit['event_id']}", headers=me.headers)).json()
    assert event["window_edge"] == "end"
    listed = (await client.get("/api/v1/conjunctions", headers=me.headers)).json()
    assert [item["window_edge"] for item in listed["items"]] == ["end"]
