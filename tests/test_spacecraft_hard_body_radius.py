"""A spacecraft's ``hard_body_radius_m`` through the API: created, read, changed, cleared;
bad values refused naming the field; another organisation cannot read or change it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Factory

PROBLEM = "application/problem+json"


async def test_create_read_update_clear(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await factory.login(role="operator"))
    created = await client.post(
        "/api/v1/spacecraft",
        json={"name": "Terra", "catalog_number": "25994", "hard_body_radius_m": 6.5},
    )
    assert created.status_code == 201, created.text
    assert created.json()["hard_body_radius_m"] == 6.5
    url = f"/api/v1/spacecraft/{created.json()['id']}"
    assert (await client.get(url)).json()["hard_body_radius_m"] == 6.5

    changed = await client.patch(url, json={"hard_body_radius_m": 12})
    assert changed.status_code == 200, changed.text
    assert changed.json()["hard_body_radius_m"] == 12.0
    untouched = await client.patch(url, json={"description": "EOS AM-1"})
    assert untouched.json()["hard_body_radius_m"] == 12.0  # a field not sent is kept
    cleared = await client.patch(url, json={"hard_body_radius_m": None})
    assert cleared.json()["hard_body_radius_m"] is None
    assert (await client.get(url)).json()["hard_body_radius_m"] is None

    plain = await client.post("/api/v1/spacecraft", json={"name": "No size"})
    assert plain.json()["hard_body_radius_m"] is None


def _names_the_field(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    locations = [error["loc"] for error in response.json()["errors"]]
    assert ["body", "hard_body_radius_m"] in locations, locations


@pytest.mark.parametrize("bad", [0, -2.5, 500.5, 1e6, "big", True])
async def test_bad_radius_is_a_422_naming_the_field(
    client: httpx.AsyncClient, factory: Factory, bad: Any
) -> None:
    client.headers.update(await factory.login(role="operator"))
    _names_the_field(
        await client.post("/api/v1/spacecraft", json={"name": "X", "hard_body_radius_m": bad})
    )
    created = await client.post("/api/v1/spacecraft", json={"name": "Y"})
    url = f"/api/v1/spacecraft/{created.json()['id']}"
    _names_the_field(await client.patch(url, json={"hard_body_radius_m": bad}))
    assert (await client.get(url)).json()["hard_body_radius_m"] is None


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
async def test_non_finite_radius_is_refused(
    client: httpx.AsyncClient, factory: Factory, literal: bytes
) -> None:
    client.headers.update(await factory.login(role="operator"))
    response = await client.post(
        "/api/v1/spacecraft",
        content=b'{"name": "X", "hard_body_radius_m": ' + literal + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == PROBLEM
    listed = await client.get("/api/v1/spacecraft")
    assert listed.json()["items"] == []


async def test_another_organisation_cannot_read_or_change_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    theirs = await factory.spacecraft(hard_body_radius_m=8.0)
    client.headers.update(await factory.login(role="admin"))
    url = f"/api/v1/spacecraft/{theirs.id}"
    assert (await client.get(url)).status_code == 404
    assert (await client.patch(url, json={"hard_body_radius_m": 1.0})).status_code == 404
    listed = await client.get("/api/v1/spacecraft")
    assert all(item["id"] != str(theirs.id) for item in listed.json()["items"])
