"""A conjunction event's ``state`` (open until its TCA has passed, then closed) and the
``?state=`` filter, with ``?status=`` kept as its deprecated alias."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.conjunction.conftest import Operator, operator_with, upload

URL = "/api/v1/conjunctions"


async def _two_events(client: httpx.AsyncClient, factory: Factory) -> tuple[Operator, str, str]:
    """One event whose TCA has passed (closed at once) and one ahead (open)."""
    me = await operator_with(factory, "41001")
    now = datetime.now(UTC)
    ids = []
    for name, hours in (("PAST", -48), ("AHEAD", 48)):
        message = omitron_cdm(
            primary="41001",
            secondary="41002",
            tca=now + timedelta(hours=hours),
            creation=now - timedelta(hours=72),
            message_id=f"STATE-{name}",
            hbr_each_m=10.0,
        )
        response = await upload(client, kvn(message), me.headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["event"]["id"])
    return me, ids[0], ids[1]


async def _ids(client: httpx.AsyncClient, me: Operator, **params: str) -> list[str]:
    response = await client.get(URL, params=params, headers=me.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_events_show_their_state_and_filter_by_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me, past, ahead = await _two_events(client, factory)
    listed = (await client.get(URL, headers=me.headers)).json()["items"]
    assert {item["id"]: item["state"] for item in listed} == {past: "closed", ahead: "open"}
    assert all("status" not in item for item in listed)
    detail = (await client.get(f"{URL}/{ahead}", headers=me.headers)).json()
    assert detail["state"] == "open"

    assert await _ids(client, me, state="open") == [ahead]
    assert await _ids(client, me, state="closed") == [past]
    assert await _ids(client, me) == [past, ahead]


@pytest.mark.parametrize(("state", "status"), [("open", "open"), (None, "open")])
async def test_the_deprecated_status_alias_still_filters(
    client: httpx.AsyncClient, factory: Factory, state: str | None, status: str
) -> None:
    me, _, ahead = await _two_events(client, factory)
    params = {"status": status} | ({"state": state} if state else {})
    assert await _ids(client, me, **params) == [ahead]


async def test_state_and_status_that_disagree_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "41001")
    response = await client.get(
        URL, params={"state": "open", "status": "closed"}, headers=me.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["query", "status"]


async def test_openapi_marks_status_deprecated(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    parameters = {p["name"]: p for p in spec["paths"][URL]["get"]["parameters"]}
    assert parameters["status"].get("deprecated") is True
    assert not parameters["state"].get("deprecated", False)
    event = spec["components"]["schemas"]["ConjunctionEventRead"]
    assert "state" in event["properties"] and "status" not in event["properties"]
