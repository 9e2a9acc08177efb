"""The trajectory API through the real app: ephemerides checked against the astro library's
SGP4 + frame chain (itself checked against astropy in tests/astro) and an analytic two-body
orbit; errors as problem+json naming the field."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.frames import teme_to_gcrf, teme_to_itrf
from astroshield.astro.dynamics.orbit import ClassicalElements, state_from_elements
from astroshield.astro.dynamics.propagation import propagate
from astroshield.astro.formats import oem
from astroshield.astro.formats.omm import format_omm_json
from astroshield.astro.formats.tle import format_tle
from astroshield.catalog.service import import_element_sets
from astroshield.db import session_scope
from tests.astro.test_groundtrack import catalog_object
from tests.catalog.conftest import PUBLIC
from tests.conftest import Factory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = datetime(2024, 11, 1, tzinfo=UTC)
MU = 398_600.4418


def iss() -> ElementSet:
    return catalog_object("25544")


def tle_body(elements: ElementSet | None = None) -> dict[str, str]:
    tle = format_tle(elements or iss())
    return {"line1": tle.line1, "line2": tle.line2}


def window(hours: float = 2.0, step_s: float = 60.0) -> dict[str, Any]:
    return {
        "start": START.isoformat(),
        "stop": (START + timedelta(hours=hours)).isoformat(),
        "step_s": step_s,
    }


def expected_states(
    elements: ElementSet, frame: str, hours: float = 2.0, step_s: float = 60.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = int(hours * 3600 / step_s) + 1
    times = np.datetime64("2024-11-01T00:00", "us") + np.arange(count) * np.timedelta64(
        int(step_s), "s"
    )
    result = propagate([elements], times)
    r, v = result.r_km[0], result.v_km_s[0]
    if frame == "GCRF":
        r, v = teme_to_gcrf(r, v, times)
    elif frame == "ITRF":
        r, v = teme_to_itrf(r, v, times)
    return times, r, v


async def login(factory: Factory) -> dict[str, str]:
    return await factory.login(role="viewer")


@pytest.mark.parametrize("frame", ["TEME", "GCRF", "ITRF"])
async def test_propagate_a_tle_in_each_frame(
    client: httpx.AsyncClient, factory: Factory, frame: str
) -> None:
    client.headers.update(await login(factory))
    response = await client.post(
        "/api/v1/trajectory/propagate", json={"tle": tle_body(), "frame": frame, **window()}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    times, r, v = expected_states(iss(), frame)
    assert body["frame"] == frame and body["errors"] == []
    assert body["object"]["catalog_number"] == "25544"
    assert body["object"]["propagator"] == "SGP4"
    assert len(body["epochs"]) == len(times) == 121
    assert body["epochs"][0].startswith("2024-11-01T00:00:00")
    np.testing.assert_allclose(np.array(body["r_km"]), r, atol=1e-9)
    np.testing.assert_allclose(np.array(body["v_km_s"]), v, atol=1e-12)


async def test_omm_fields_give_the_same_ephemeris_as_the_tle(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await login(factory))
    omm_fields = json.loads(format_omm_json([iss()]))[0]
    by_omm = await client.post("/api/v1/trajectory/propagate", json={"omm": omm_fields, **window()})
    by_tle = await client.post("/api/v1/trajectory/propagate", json={"tle": tle_body(), **window()})
    assert by_omm.status_code == by_tle.status_code == 200, by_omm.text
    np.testing.assert_allclose(by_omm.json()["r_km"], by_tle.json()["r_km"], atol=1e-6)


@pytest.mark.parametrize("how", ["accept", "query"])
async def test_oem_output_parses_back_and_matches(
    client: httpx.AsyncClient, factory: Factory, how: str
) -> None:
    client.headers.update(await login(factory))
    body = {"tle": tle_body(), "frame": "GCRF", **window(hours=1)}
    if how == "accept":
        response = await client.post(
            "/api/v1/trajectory/propagate",
            json=body,
            headers={"Accept": "application/ccsds-oem"},
        )
    else:
        response = await client.post("/api/v1/trajectory/propagate?format=oem", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ccsds-oem")
    message = oem.loads(response.text)
    (segment,) = message.segments
    assert segment.metadata.ref_frame == "GCRF" and segment.metadata.center_name == "EARTH"
    assert segment.metadata.object_id == "1998-067A"
    assert segment.metadata.time_system == "UTC"
    times, r, v = expected_states(iss(), "GCRF", hours=1)
    np.testing.assert_array_equal(segment.epochs(), times)
    np.testing.assert_allclose(segment.positions_km(), r, atol=1e-9)
    np.testing.assert_allclose(segment.velocities_km_s(), v, atol=1e-12)


def _kepler_state(elements: ClassicalElements, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Reference two-body state: advance the mean anomaly and solve Kepler's equation."""
    e = elements.e
    nu0 = math.radians(elements.true_anomaly_deg)
    ecc0 = 2 * math.atan(math.sqrt((1 - e) / (1 + e)) * math.tan(nu0 / 2))
    mean = ecc0 - e * math.sin(ecc0) + math.sqrt(MU / elements.a_km**3) * seconds
    ecc = mean
    for _ in range(50):
        ecc -= (ecc - e * math.sin(ecc) - mean) / (1 - e * math.cos(ecc))
    nu = 2 * math.atan2(math.sqrt(1 + e) * math.sin(ecc / 2), math.sqrt(1 - e) * math.cos(ecc / 2))
    later = ClassicalElements(
        elements.p_km,
        elements.a_km,
        e,
        elements.i_deg,
        elements.raan_deg,
        elements.argp_deg,
        math.degrees(nu),
    )
    return state_from_elements(later)


async def test_a_state_vector_is_propagated_two_body(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await login(factory))
    a_km, e = 7_200.0, 0.05
    orbit = ClassicalElements(a_km * (1 - e * e), a_km, e, 63.0, 40.0, 270.0, 10.0)
    r0, v0 = state_from_elements(orbit)
    state = {"epoch": START.isoformat(), "r_km": list(r0), "v_km_s": list(v0), "frame": "GCRF"}
    response = await client.post(
        "/api/v1/trajectory/propagate",
        json={"state": state, "frame": "GCRF", **window(hours=12, step_s=600)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"]["propagator"] == "two-body"
    for index, (r, v) in enumerate(zip(body["r_km"], body["v_km_s"], strict=True)):
        r_ref, v_ref = _kepler_state(orbit, index * 600.0)
        np.testing.assert_allclose(r, r_ref, atol=1e-3)  # 1 m after ~7 revolutions
        np.testing.assert_allclose(v, v_ref, atol=1e-6)


@pytest.mark.parametrize("frame", ["TEME", "ITRF"])
async def test_a_state_in_another_frame_round_trips_at_its_epoch(
    client: httpx.AsyncClient, factory: Factory, frame: str
) -> None:
    client.headers.update(await login(factory))
    state = {
        "epoch": START.isoformat(),
        "r_km": [6800.0, 1000.0, 500.0],
        "v_km_s": [-1.0, 7.0, 2.0],
    }
    body = {"state": {**state, "frame": frame}, "frame": frame, **window(hours=0.5)}
    response = await client.post("/api/v1/trajectory/propagate", json=body)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["r_km"][0], state["r_km"], atol=1e-8)
    np.testing.assert_allclose(response.json()["v_km_s"][0], state["v_km_s"], atol=1e-11)


async def test_an_escape_state_is_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await login(factory))
    state = {"epoch": START.isoformat(), "r_km": [7000.0, 0, 0], "v_km_s": [0, 11.0, 0]}
    response = await client.post("/api/v1/trajectory/propagate", json={"state": state, **window()})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "state", "v_km_s"]


@pytest.mark.parametrize(
    ("r_km", "v_km_s", "loc", "detail"),
    [
        ([0.0, 0.0, 0.0], [0.0, 7.5, 0.0], ["state", "r_km"], "0 km from the Earth's centre"),
        ([6000.0, 0.0, 0.0], [0.0, 7.5, 0.0], ["state", "r_km"], "inside the Earth"),
        ([2.0e6, 0.0, 0.0], [0.0, 0.1, 0.0], ["state", "r_km"], "beyond its Hill sphere"),
        ([7000.0, 0.0, 0.0], [1.0, 0.0, 0.0], ["state", "v_km_s"], "below the Earth's surface"),
        ([7000.0, 0.0, 0.0], [0.0, 0.5, 0.0], ["state", "v_km_s"], "below the Earth's surface"),
        ([7000.0, 0.0, 0.0], [0.0, 0.0, 0.0], ["state", "v_km_s"], "below the Earth's surface"),
    ],
)
async def test_a_state_that_is_no_earth_orbit_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    factory: Factory,
    r_km: list[float],
    v_km_s: list[float],
    loc: list[str],
    detail: str,
) -> None:
    client.headers.update(await login(factory))
    state = {"epoch": START.isoformat(), "r_km": r_km, "v_km_s": v_km_s}
    response = await client.post("/api/v1/trajectory/propagate", json={"state": state, **window()})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", *loc]
    assert detail in problem["detail"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_a_state_with_a_non_finite_number_is_refused(
    client: httpx.AsyncClient, factory: Factory, number: str
) -> None:
    client.headers.update(await login(factory))
    body = (
        f'{{"state": {{"epoch": "{START.isoformat()}", "r_km": [7000, {number}, 0], '
        f'"v_km_s": [0, 7.5, 0]}}, "start": "{START.isoformat()}", '
        f'"stop": "{(START + timedelta(hours=1)).isoformat()}"}}'
    )
    response = await client.post(
        "/api/v1/trajectory/propagate",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][:4] == ["body", "state", "r_km", 1]


@pytest.mark.parametrize(
    ("field", "value"),
    [("start", "0001-01-01T00:00:00+00:00"), ("stop", "9999-12-31T00:00:00+00:00")],
)
async def test_a_window_outside_1957_2099_is_refused(
    client: httpx.AsyncClient, factory: Factory, field: str, value: str
) -> None:
    client.headers.update(await login(factory))
    body = {"tle": tle_body(), **window(), field: value}
    response = await client.post("/api/v1/trajectory/propagate", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", field]
    state = {"epoch": "1900-01-01T00:00:00+00:00", "r_km": [7000, 0, 0], "v_km_s": [0, 7.5, 0]}
    response = await client.post("/api/v1/trajectory/propagate", json={"state": state, **window()})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "state", "epoch"]


async def test_an_omm_with_an_impossible_orbit_names_the_keyword(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await login(factory))
    (omm,) = json.loads(format_omm_json([iss()]))
    omm["ECCENTRICITY"] = 0.9
    response = await client.post("/api/v1/trajectory/propagate", json={"omm": omm, **window()})
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "omm", "ECCENTRICITY"]
    assert "below the Earth's surface" in error["msg"]


async def test_a_bad_tle_checksum_names_the_line_and_column(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await login(factory))
    tle = tle_body()
    tle["line1"] = tle["line1"][:-1] + str((int(tle["line1"][-1]) + 1) % 10)
    response = await client.post("/api/v1/trajectory/propagate", json={"tle": tle, **window()})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "tle", "line1"]
    assert "line 1" in error["msg"] and "column 69" in error["msg"]


async def test_a_bad_omm_field_is_named(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await login(factory))
    fields = json.loads(format_omm_json([iss()]))[0]
    fields["ECCENTRICITY"] = "1.5"
    response = await client.post("/api/v1/trajectory/propagate", json={"omm": fields, **window()})
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "omm", "ECCENTRICITY"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"step_s": 0.01}, "step_s"),  # 720,001 points > 100,000
        ({"stop": (START + timedelta(days=40)).isoformat(), "step_s": 3600}, "stop"),
        ({"stop": (START - timedelta(hours=1)).isoformat()}, "stop"),
    ],
)
async def test_the_window_is_bounded(
    client: httpx.AsyncClient, factory: Factory, change: dict[str, Any], field: str
) -> None:
    client.headers.update(await login(factory))
    body = {"tle": tle_body(), **window(), **change}
    response = await client.post("/api/v1/trajectory/propagate", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", field]


async def test_exactly_one_object_is_required(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await login(factory))
    response = await client.post("/api/v1/trajectory/propagate", json=window())
    assert response.status_code == 422
    assert "exactly one" in response.text


async def test_decay_is_reported_per_time_without_nan(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await login(factory))
    doomed = ElementSet(
        catalog_number="99001",
        epoch=START,
        mean_motion_rev_per_day=16.3,
        eccentricity=0.001,
        inclination_deg=51.6,
        ra_of_asc_node_deg=0.0,
        arg_of_pericenter_deg=0.0,
        mean_anomaly_deg=0.0,
        bstar_per_earth_radius=0.01,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )
    body = {"tle": tle_body(doomed), **window(hours=72, step_s=3600)}
    response = await client.post("/api/v1/trajectory/propagate", json=body)
    assert response.status_code == 200, response.text
    assert "NaN" not in response.text
    payload = response.json()
    assert payload["r_km"][0] is not None
    failed = {item["index"] for item in payload["errors"]}
    assert failed and all(payload["r_km"][i] is None for i in failed)
    assert all(item["code"] in (1, 2, 3, 4, 6) and item["reason"] for item in payload["errors"])
    oem_response = await client.post("/api/v1/trajectory/propagate?format=oem", json=body)
    assert oem_response.status_code == 200
    (segment,) = oem.loads(oem_response.text).segments
    assert len(segment.states) == len(payload["epochs"]) - len(failed)
    assert "omitted" in " ".join(segment.data_comments)


async def test_anonymous_callers_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/trajectory/propagate", json={"tle": tle_body(), **window()}
    )
    assert response.status_code == 401


# ---------------------------------------------------------------------- spacecraft ephemeris


async def _import(app: FastAPI, *sets: ElementSet) -> None:
    async with session_scope(app.state.sessionmaker) as session:
        await import_element_sets(session, sets, "test", PUBLIC)


async def test_spacecraft_ephemeris_from_its_catalog_element_set(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, iss())
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, name="ISS", catalog_number="25544")
    client.headers.update(await factory.login(organisation, role="viewer"))
    query = {
        "start": START.isoformat(),
        "stop": (START + timedelta(hours=2)).isoformat(),
        "step_s": 60,
        "frame": "ITRF",
    }
    response = await client.get(f"/api/v1/spacecraft/{spacecraft.id}/ephemeris", params=query)
    assert response.status_code == 200, response.text
    _, r, _ = expected_states(iss(), "ITRF")
    np.testing.assert_allclose(np.array(response.json()["r_km"]), r, atol=1e-9)

    as_oem = await client.get(
        f"/api/v1/spacecraft/{spacecraft.id}/ephemeris", params={**query, "format": "oem"}
    )
    assert as_oem.status_code == 200
    (segment,) = oem.loads(as_oem.text).segments
    assert segment.metadata.ref_frame == "ITRF"
    np.testing.assert_allclose(segment.positions_km(), r, atol=1e-9)


async def test_another_organisations_upload_never_moves_our_ephemeris(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """Organisation A uploads a fake, newer ISS set: A's own ephemeris (and propagation by
    ``spacecraft_id``) follows it (its overlay), B's spacecraft linked to the ISS keeps the
    public set."""
    await _import(app, iss())
    fake = replace(
        iss(),
        epoch=datetime(2024, 10, 31, 20, tzinfo=UTC),
        mean_anomaly_deg=(iss().mean_anomaly_deg + 90.0) % 360.0,
    )
    a, b = await factory.organisation(), await factory.organisation()
    uploaded = await client.post(
        "/api/v1/catalog/element-sets",
        content=format_omm_json([fake]),
        headers=await factory.login(a, role="analyst") | {"content-type": "application/json"},
    )
    assert uploaded.status_code == 200, uploaded.text
    query = {"start": START.isoformat(), "stop": (START + timedelta(hours=2)).isoformat()}

    for organisation, elements in ((b, iss()), (a, fake)):
        spacecraft = await factory.spacecraft(organisation, catalog_number="25544")
        response = await client.get(
            f"/api/v1/spacecraft/{spacecraft.id}/ephemeris",
            params=query,
            headers=await factory.login(organisation, role="viewer"),
        )
        assert response.status_code == 200, response.text
        _, r, _ = expected_states(elements, "GCRF")
        np.testing.assert_allclose(np.array(response.json()["r_km"]), r, atol=1e-9)
        propagated = await client.post(
            "/api/v1/trajectory/propagate",
            json={"spacecraft_id": str(spacecraft.id), **query},
            headers=await factory.login(organisation, role="viewer"),
        )
        assert propagated.status_code == 200, propagated.text
        np.testing.assert_allclose(np.array(propagated.json()["r_km"]), r, atol=1e-9)


async def test_another_organisations_spacecraft_is_not_found(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, iss())
    theirs = await factory.spacecraft(await factory.organisation(), catalog_number="25544")
    client.headers.update(await factory.login(role="viewer"))
    response = await client.get(
        f"/api/v1/spacecraft/{theirs.id}/ephemeris",
        params={"start": START.isoformat(), "stop": (START + timedelta(hours=1)).isoformat()},
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("catalog_number", [None, "25544"])
async def test_a_spacecraft_without_elements_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory, catalog_number: str | None
) -> None:
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number=catalog_number)
    client.headers.update(await factory.login(organisation, role="viewer"))
    response = await client.get(
        f"/api/v1/spacecraft/{spacecraft.id}/ephemeris",
        params={"start": START.isoformat(), "stop": (START + timedelta(hours=1)).isoformat()},
    )
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/conflict")


# 5e-324 s (the smallest float) once made the point count infinite: a 500 (schemathesis).
@pytest.mark.parametrize(("days", "step_s"), [(2, 0.5), (1 / 1440, 5e-324)])
async def test_spacecraft_ephemeris_window_is_bounded_in_the_query(
    client: httpx.AsyncClient, factory: Factory, days: float, step_s: float
) -> None:
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="25544")
    client.headers.update(await factory.login(organisation, role="viewer"))
    response = await client.get(
        f"/api/v1/spacecraft/{spacecraft.id}/ephemeris",
        params={
            "start": START.isoformat(),
            "stop": (START + timedelta(days=days)).isoformat(),
            "step_s": step_s,
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "step_s"]


# ----------------------------------------------------------------------------- analysis


def analysis_body(**extra: Any) -> dict[str, Any]:
    return {
        "tle": tle_body(),
        "start": START.isoformat(),
        "stop": (START + timedelta(days=1)).isoformat(),
        "ground_stations": [{"name": "Delft", "lat_deg": 52.0, "lon_deg": 4.37, "alt_km": 0.0}],
        "min_elevation_deg": 10.0,
        "ground_track_max_points": 500,
        **extra,
    }


@pytest.mark.slow
async def test_analyze_an_iss_day(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await login(factory))
    response = await client.post("/api/v1/trajectory/analyze", json=analysis_body())
    assert response.status_code == 200, response.text
    body = response.json()
    mean = body["mean_elements"]
    assert mean["regime"] == "LEO" and 400 < mean["perigee_altitude_km"] < 430
    assert mean["period_min"] == pytest.approx(1440 / 15.50886758)
    osculating = body["osculating_elements"]
    assert osculating["inclination_deg"] == pytest.approx(51.64, abs=0.1)
    assert abs(osculating["semi_major_axis_km"] - mean["semi_major_axis_km"]) < 30
    assert len(body["passes"]) == 4  # the 1 s scan in tests/astro/test_passes.py agrees
    assert all(p["station"] == "Delft" and p["max_elevation_deg"] >= 10 for p in body["passes"])
    umbrae = [item for item in body["eclipses"] if item["kind"] == "umbra"]
    assert 15 <= len(umbrae) <= 17
    assert body["lifetime"]["status"] == "decays"
    assert "factor" in body["lifetime"]["uncertainty"]
    track = body["ground_track"]
    assert 2 <= len(track["epochs"]) <= 500
    assert all(-90 <= lat <= 90 for lat in track["latitude_deg"])


async def test_analysis_window_is_bounded(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await login(factory))
    body = analysis_body(stop=(START + timedelta(days=8)).isoformat())
    response = await client.post("/api/v1/trajectory/analyze", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "stop"]


async def test_analysis_refuses_a_state_vector(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await login(factory))
    body = analysis_body()
    del body["tle"]
    body["state"] = {"epoch": START.isoformat(), "r_km": [7000, 0, 0], "v_km_s": [0, 7.5, 0]}
    response = await client.post("/api/v1/trajectory/analyze", json=body)
    assert response.status_code == 422
    assert any(error["loc"][-1] == "state" for error in response.json()["errors"])


async def test_ground_track_png(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await login(factory))
    body = analysis_body(stop=(START + timedelta(hours=3)).isoformat())
    response = await client.post("/api/v1/trajectory/analyze/ground-track.png", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content[:8] == PNG_SIGNATURE
