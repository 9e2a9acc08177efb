"""The alert list filtered by what an alert is about (spacecraft, conjunction event,
telemetry parameter), with those links as fields, across real telemetry limit alarms and a
real CDM's Pc alert; another organisation's ids match nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from astroshield.spacecraft.models import Spacecraft
from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.conjunction.conftest import upload
from tests.telemetry.support import DICTIONARY, T0, iso

LIMITS = {"ranges": {"warning": {"low": 25.5, "high": 29.4}}, "min_violations": 1}


async def _alarm(
    client: httpx.AsyncClient, headers: dict[str, str], spacecraft: Spacecraft, parameter: str
) -> None:
    """A firing limit alarm on ``parameter`` of ``spacecraft``."""
    base = f"/api/v1/spacecraft/{spacecraft.id}/telemetry"
    response = await client.put(base + "/parameters", json=DICTIONARY, headers=headers)
    assert response.status_code == 200, response.text
    response = await client.put(f"{base}/{parameter}/limits", json=LIMITS, headers=headers)
    assert response.status_code == 200, response.text
    sample = {"parameter": parameter, "time": iso(T0), "value": 31.0}
    body = {"source_id": f"gs-{parameter}", "sequence": 1, "samples": [sample]}
    response = await client.post(base, json=body, headers=headers)
    assert response.status_code == 201, response.text


async def _listed(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/alerts", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_alerts_filter_by_spacecraft_event_and_parameter(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    ours = await factory.organisation()
    first = await factory.spacecraft(ours, catalog_number="44001")
    second = await factory.spacecraft(ours, catalog_number="44003")
    operator = await factory.login(ours, role="operator")
    analyst = await factory.login(ours, role="analyst")
    for spacecraft in (first, second):
        for parameter in ("bus_voltage", "panel_temp"):
            await _alarm(client, operator, spacecraft, parameter)
    now = datetime.now(UTC)
    cdm = omitron_cdm(
        primary="44001",
        secondary="44002",
        tca=now + timedelta(days=2),
        creation=now - timedelta(hours=1),
        message_id="FILTERS",
        hbr_each_m=20.0,
    )
    response = await upload(client, kvn(cdm), analyst)
    assert response.status_code in (200, 201), response.text
    event_id = response.json()["event"]["id"]
    theirs = await factory.organisation()
    foreign = await factory.spacecraft(theirs)
    await _alarm(client, await factory.login(theirs, role="operator"), foreign, "bus_voltage")

    about_first = await _listed(client, operator, spacecraft_id=str(first.id))
    assert sorted((a["parameter"] or "", a["event_id"] or "") for a in about_first) == [
        ("", event_id),
        ("bus_voltage", ""),
        ("panel_temp", ""),
    ]
    assert {a["spacecraft_id"] for a in about_first} == {str(first.id)}

    (pc_alert,) = await _listed(client, operator, event_id=event_id)
    assert (pc_alert["spacecraft_id"], pc_alert["parameter"]) == (str(first.id), None)
    assert pc_alert["labels"]["event_id"] == event_id

    voltage = await _listed(client, operator, parameter="bus_voltage")
    assert sorted(a["spacecraft_id"] for a in voltage) == sorted([str(first.id), str(second.id)])
    (one,) = await _listed(client, operator, spacecraft_id=str(second.id), parameter="panel_temp")
    assert (one["spacecraft_id"], one["parameter"], one["event_id"]) == (
        str(second.id),
        "panel_temp",
        None,
    )


async def test_another_organisations_links_match_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    theirs = await factory.organisation()
    foreign = await factory.spacecraft(theirs)
    their_operator = await factory.login(theirs, role="operator")
    await _alarm(client, their_operator, foreign, "bus_voltage")
    assert len(await _listed(client, their_operator, spacecraft_id=str(foreign.id))) == 1

    operator = await factory.login(await factory.organisation(), role="operator")
    assert await _listed(client, operator, spacecraft_id=str(foreign.id)) == []
    assert await _listed(client, operator, parameter="bus_voltage") == []
    assert await _listed(client, operator, event_id=str(uuid.uuid4())) == []


async def test_a_malformed_link_is_refused_naming_the_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    operator = await factory.login(role="operator")
    response = await client.get(
        "/api/v1/alerts", params={"spacecraft_id": "not-a-uuid"}, headers=operator
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["query", "spacecraft_id"]
