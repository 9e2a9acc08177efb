"""Propagate, analyse and map an object by catalog number or spacecraft (issue 15): the
newest set the organisation's analyses use or the one ``element_set_id`` chooses, checked
against SGP4 of that set's own elements; errors as problem+json naming the field."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from PIL import Image

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats import oem
from astroshield.astro.formats.omm import format_omm_json
from astroshield.astro.formats.tle import format_tle
from tests.conftest import Factory
from tests.trajectory.test_api import START, _import, expected_states, iss, window

PROPAGATE = "/api/v1/trajectory/propagate"
ANALYZE = "/api/v1/trajectory/analyze"
PNG_SIZE = (1000, 540)  # groundtrack.ground_track_plot: 10 x 5.4 in at 100 dpi


def older_iss() -> ElementSet:
    """An earlier ISS set (another mean anomaly) so that the two sets give other states."""
    return replace(
        iss(),
        epoch=iss().epoch - timedelta(days=1),
        mean_anomaly_deg=(iss().mean_anomaly_deg + 120.0) % 360.0,
    )


async def _set_ids(client: httpx.AsyncClient, number: str) -> list[int]:
    """The ids of the object's history, oldest first, as a user finds them."""
    response = await client.get(f"/api/v1/catalog/objects/{number}/element-sets")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _positions(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.array(response.json()["r_km"])


async def test_propagate_by_catalog_number_newest_or_chosen_set(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, older_iss(), iss())
    client.headers.update(await factory.login(role="viewer"))
    older_id, newest_id = await _set_ids(client, "25544")

    newest = await client.post(PROPAGATE, json={"catalog_number": "25544", **window()})
    np.testing.assert_allclose(_positions(newest), expected_states(iss(), "GCRF")[1], atol=1e-9)
    assert newest.json()["object"]["element_set_id"] == newest_id
    assert newest.json()["object"]["catalog_number"] == "25544"

    chosen = {"catalog_number": "25544", "element_set_id": older_id, "frame": "ITRF", **window()}
    older = await client.post(PROPAGATE, json=chosen)
    np.testing.assert_allclose(
        _positions(older), expected_states(older_iss(), "ITRF")[1], atol=1e-9
    )
    assert older.json()["object"]["element_set_id"] == older_id

    as_oem = await client.post(PROPAGATE, params={"format": "oem"}, json=chosen)
    assert as_oem.status_code == 200, as_oem.text
    (segment,) = oem.loads(as_oem.text).segments
    np.testing.assert_allclose(
        segment.positions_km(), expected_states(older_iss(), "ITRF")[1], atol=1e-9
    )

    lines = await client.post(PROPAGATE, json={"tle": {**_tle(iss())}, **window()})
    assert lines.json()["object"]["element_set_id"] is None


def _tle(elements: ElementSet) -> dict[str, Any]:
    tle = format_tle(elements)
    return {"line1": tle.line1, "line2": tle.line2, "name": elements.object_name}


async def _problem(response: httpx.Response, status: int, loc: list[str]) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert [error["loc"] for error in body["errors"]] == [loc]
    return body


@pytest.mark.parametrize("path", [PROPAGATE, ANALYZE])
async def test_object_errors_name_the_field(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, path: str
) -> None:
    await _import(app, iss(), replace(iss(), catalog_number="25545", object_name="OTHER"))
    organisation = await factory.organisation()
    client.headers.update(await factory.login(organisation, role="viewer"))
    other_set = (await _set_ids(client, "25545"))[0]
    theirs = await factory.spacecraft(await factory.organisation(), catalog_number="25544")
    unnumbered = await factory.spacecraft(organisation, catalog_number=None)

    async def post(**source: Any) -> httpx.Response:
        return await client.post(path, json={**source, **_analysis_window()})

    both = await post(catalog_number="25544", tle=_tle(iss()))
    assert "exactly one" in (await _problem(both, 422, ["body"]))["detail"] + both.text
    await _problem(await post(), 422, ["body"])
    await _problem(await post(catalog_number="99999"), 404, ["body", "catalog_number"])
    await _problem(await post(catalog_number="ZZ"), 422, ["body", "catalog_number"])
    chosen = await post(catalog_number="25544", element_set_id=other_set)
    await _problem(chosen, 404, ["body", "element_set_id"])
    lines = await post(tle=_tle(iss()), element_set_id=other_set)
    await _problem(lines, 422, ["body", "element_set_id"])
    missing = await post(spacecraft_id=str(uuid.uuid4()))
    assert missing.status_code == 404
    assert (await post(spacecraft_id=str(theirs.id))).status_code == 404
    no_number = await _problem(
        await post(spacecraft_id=str(unnumbered.id)), 422, ["body", "spacecraft_id"]
    )
    assert f"PATCH /api/v1/spacecraft/{unnumbered.id}" in no_number["detail"]


async def test_another_organisations_overlay_set_cannot_be_chosen(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, iss())
    a, b = await factory.organisation(), await factory.organisation()
    a_analyst = await factory.login(a, role="analyst")
    await client.post(
        "/api/v1/catalog/element-sets",
        content=format_omm_json([replace(iss(), epoch=iss().epoch + timedelta(hours=6))]),
        headers=a_analyst | {"content-type": "application/json"},
    )
    client.headers.update(a_analyst)
    overlay_id = (await _set_ids(client, "25544"))[-1]
    chosen = {"catalog_number": "25544", "element_set_id": overlay_id, **window()}
    assert (await client.post(PROPAGATE, json=chosen)).status_code == 200
    b_viewer = await factory.login(b, role="viewer")
    refused = await client.post(PROPAGATE, json=chosen, headers=b_viewer)
    await _problem(refused, 404, ["body", "element_set_id"])


def _analysis_window(hours: float = 3.0) -> dict[str, str]:
    return {"start": START.isoformat(), "stop": (START + timedelta(hours=hours)).isoformat()}


async def test_analyze_by_catalog_number_is_the_analysis_of_its_set(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    await _import(app, older_iss(), iss())
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="25544")
    client.headers.update(await factory.login(organisation, role="viewer"))
    older_id, newest_id = await _set_ids(client, "25544")

    by_lines = await client.post(ANALYZE, json={"tle": _tle(older_iss()), **_analysis_window()})
    assert by_lines.status_code == 200, by_lines.text
    by_object = await client.post(
        ANALYZE,
        json={
            "spacecraft_id": str(spacecraft.id),
            "element_set_id": older_id,
            **_analysis_window(),
        },
    )
    assert by_object.status_code == 200, by_object.text
    assert by_object.json()["object"]["element_set_id"] == older_id
    assert by_object.json()["ground_track"] == by_lines.json()["ground_track"]
    assert by_object.json()["mean_elements"] == by_lines.json()["mean_elements"]

    newest = await client.post(ANALYZE, json={"catalog_number": "25544", **_analysis_window()})
    assert newest.status_code == 200, newest.text
    assert newest.json()["object"]["element_set_id"] == newest_id
    assert newest.json()["mean_elements"]["epoch"] == iss().epoch.isoformat().replace("+00:00", "Z")


def _png(response: httpx.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


async def test_get_ground_track_png_of_a_spacecraft(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """The GET map is the POST map of the same set's TLE lines over the same window (same
    bytes: the same track drawn), and a decodable PNG of the figure's size."""
    await _import(app, older_iss(), iss())
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="25544")
    client.headers.update(await factory.login(organisation, role="viewer"))
    older_id, _ = await _set_ids(client, "25544")
    path = f"/api/v1/spacecraft/{spacecraft.id}/ground-track.png"
    query = {**_analysis_window(), "step_s": 120}

    got = await client.get(path, params=query)
    assert _png(got).size == PNG_SIZE
    posted = await client.post(
        f"{ANALYZE}/ground-track.png",
        json={"tle": _tle(iss()), **_analysis_window(), "ground_track_step_s": 120},
    )
    assert got.content == posted.content
    by_number = await client.post(
        f"{ANALYZE}/ground-track.png",
        json={"catalog_number": "25544", **_analysis_window(), "ground_track_step_s": 120},
    )
    assert by_number.content == got.content

    chosen = await client.get(path, params={**query, "element_set_id": older_id})
    assert _png(chosen).size == PNG_SIZE and chosen.content != got.content
    older_posted = await client.post(
        f"{ANALYZE}/ground-track.png",
        json={"tle": _tle(older_iss()), **_analysis_window(), "ground_track_step_s": 120},
    )
    assert chosen.content == older_posted.content


async def test_get_ground_track_png_defaults_and_errors(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    """Without a window: from now for three orbits of a set fresh enough for now."""
    fresh = replace(iss(), epoch=datetime.now(UTC).replace(microsecond=0))
    await _import(app, fresh)
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number="25544")
    client.headers.update(await factory.login(organisation, role="viewer"))
    path = f"/api/v1/spacecraft/{spacecraft.id}/ground-track.png"
    assert _png(await client.get(path)).size == PNG_SIZE

    theirs = await factory.spacecraft(await factory.organisation(), catalog_number="25544")
    refused = await client.get(f"/api/v1/spacecraft/{theirs.id}/ground-track.png")
    assert refused.status_code == 404
    unnumbered = await factory.spacecraft(organisation, catalog_number=None)
    no_number = await _problem(
        await client.get(f"/api/v1/spacecraft/{unnumbered.id}/ground-track.png"),
        422,
        ["path", "spacecraft_id"],
    )
    assert f"PATCH /api/v1/spacecraft/{unnumbered.id}" in no_number["detail"]
    await _problem(
        await client.get(path, params={"element_set_id": 2**40}),
        404,
        ["query", "element_set_id"],
    )
    await _problem(
        await client.get(
            path,
            params={"start": START.isoformat(), "stop": (START - timedelta(hours=1)).isoformat()},
        ),
        422,
        ["query", "stop"],
    )
