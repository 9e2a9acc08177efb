"""Provenance and overlays through the real app: an organisation's upload is its own overlay,
invisible to every other organisation until a platform administrator publishes it.

The scene is the one the catalog was attacked with: an analyst of organisation A uploads a
fake element set for the ISS (25544) with a newer epoch and a GEO orbit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.api.pagination import cursor_signer
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import format_omm_json, parse_omm_csv
from astroshield.audit.models import AuditEntry
from astroshield.db import session_scope
from astroshield.organisations.models import Organisation
from tests.catalog.conftest import Importer, csv_rows_where
from tests.conftest import Factory

ISS = "25544"
OBJECTS = "/api/v1/catalog/objects"
UPLOAD = "/api/v1/catalog/element-sets"
OVERLAYS = "/api/v1/catalog/overlays"
JSON = {"content-type": "application/json"}


def public_iss() -> ElementSet:
    (iss,) = parse_omm_csv(csv_rows_where(lambda row: f",{ISS}," in row))
    return iss


def fake_iss(epoch_offset: timedelta = timedelta(hours=12)) -> ElementSet:
    """Newer than the public set, in GEO, under another name: every summary would show it."""
    iss = public_iss()
    return replace(
        iss,
        epoch=iss.epoch + epoch_offset,
        object_name="ISS (FAKE)",
        mean_motion_rev_per_day=1.00273791,
        eccentricity=0.0002,
        inclination_deg=0.05,
    )


def iso(moment: datetime) -> str:
    """As the API writes times."""
    return moment.isoformat().replace("+00:00", "Z")


def omm(*sets: ElementSet) -> bytes:
    return format_omm_json(list(sets)).encode()


@dataclass
class Tenants:
    a: Organisation
    b: Organisation
    a_analyst: dict[str, str]
    a_analyst_id: str
    b_viewer: dict[str, str]


@pytest.fixture
async def tenants(factory: Factory, import_sets: Importer) -> Tenants:
    """The public ISS set, and two organisations: A (an analyst) and B (a viewer)."""
    await import_sets([public_iss()], source="celestrak.csv")
    a, b = await factory.organisation(), await factory.organisation()
    analyst = await factory.user(a, role="analyst")
    return Tenants(a, b, factory.headers(analyst), str(analyst.id), await factory.login(b))


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], *sets: ElementSet, **params: Any
) -> httpx.Response:
    return await client.post(UPLOAD, content=omm(*sets), headers=headers | JSON, params=params)


async def _views(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Everything a reader sees of the ISS: detail, history, and searches and filters."""
    return {
        "detail": await _get(client, f"{OBJECTS}/{ISS}", headers),
        "history": await _get(client, f"{OBJECTS}/{ISS}/element-sets", headers),
        "by_name": await _get(client, OBJECTS, headers, q="ISS"),
        "fake_name": await _get(client, OBJECTS, headers, q="FAKE"),
        "geo": await _get(client, OBJECTS, headers, regime="GEO"),
        "leo": await _get(client, OBJECTS, headers, regime="LEO", max_apogee_km=1000),
    }


async def test_an_upload_changes_nothing_another_organisation_sees(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    before = await _views(client, tenants.b_viewer)
    response = await _upload(client, tenants.a_analyst, fake_iss())
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 1

    after = await _views(client, tenants.b_viewer)
    assert after == before
    latest = after["detail"]["latest_element_set"]
    assert latest["epoch"] == iso(public_iss().epoch)
    assert latest["provenance"] == "platform" and latest["overlay"] is False
    assert latest["source"] == "celestrak.csv"
    assert isinstance(latest["id"], int) and latest["uploaded_by"] is None
    assert after["detail"]["name"] == "ISS (ZARYA)" and after["detail"]["regime"] == "LEO"
    assert after["detail"]["element_set_count"] == 1
    assert [item["catalog_number"] for item in after["leo"]["items"]] == [ISS]
    assert after["geo"]["items"] == after["fake_name"]["items"] == []


async def test_the_uploader_sees_and_uses_its_overlay_labelled(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    fake = fake_iss()
    assert (await _upload(client, tenants.a_analyst, fake)).status_code == 200

    detail = await _get(client, f"{OBJECTS}/{ISS}", tenants.a_analyst)
    latest = detail["latest_element_set"]
    assert latest["epoch"] == iso(fake.epoch)
    assert latest["mean_motion_rev_per_day"] == fake.mean_motion_rev_per_day
    assert latest["provenance"] == "organisation" and latest["overlay"] is True
    assert latest["source"] == "upload:application/json"
    assert latest["uploaded_by"] == tenants.a_analyst_id and isinstance(latest["id"], int)
    assert latest["omm"]["OBJECT_NAME"] == "ISS (FAKE)"
    assert detail["element_set_count"] == 2
    # The object's summary (what search and filters read) stays the public one.
    assert detail["name"] == "ISS (ZARYA)" and detail["regime"] == "LEO"
    assert detail["overlay"] is False

    history = (await _get(client, f"{OBJECTS}/{ISS}/element-sets", tenants.a_analyst))["items"]
    assert [(item["provenance"], item["overlay"]) for item in history] == [
        ("platform", False),
        ("organisation", True),
    ]


async def test_an_object_only_an_overlay_knows_does_not_exist_for_others(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    unknown = replace(fake_iss(), catalog_number="99990", object_name="SECRET SAT")
    assert (await _upload(client, tenants.a_analyst, unknown)).status_code == 200

    missing = await client.get(f"{OBJECTS}/99991", headers=tenants.b_viewer)
    hidden = await client.get(f"{OBJECTS}/99990", headers=tenants.b_viewer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace("99990", "N") == missing.json()["detail"].replace(
        "99991", "N"
    )
    history = await client.get(f"{OBJECTS}/99990/element-sets", headers=tenants.b_viewer)
    assert history.status_code == 404
    for query in ({"q": "99990"}, {"q": "SECRET"}, {"regime": "GEO"}, {}):
        listed = await _get(client, OBJECTS, tenants.b_viewer, **query)
        assert "99990" not in [item["catalog_number"] for item in listed["items"]]

    # Its owner finds it, summarised from its overlay and saying so, in numeric order.
    mine = await _get(client, f"{OBJECTS}/99990", tenants.a_analyst)
    assert mine["overlay"] is True and mine["name"] == "SECRET SAT" and mine["regime"] == "GEO"
    assert mine["latest_element_set"]["overlay"] is True
    listed = await _get(client, OBJECTS, tenants.a_analyst)
    assert [(item["catalog_number"], item["overlay"]) for item in listed["items"]] == [
        (ISS, False),
        ("99990", True),
    ]
    geo = await _get(client, OBJECTS, tenants.a_analyst, regime="GEO")
    assert [item["catalog_number"] for item in geo["items"]] == ["99990"]
    paged = await _get(client, OBJECTS, tenants.a_analyst, limit=1)
    assert [item["catalog_number"] for item in paged["items"]] == [ISS]
    second = await _get(client, OBJECTS, tenants.a_analyst, limit=1, cursor=paged["next_cursor"])
    assert [item["catalog_number"] for item in second["items"]] == ["99990"]
    assert second["next_cursor"] is None


async def test_a_public_and_an_overlay_set_may_share_an_epoch(
    client: httpx.AsyncClient, tenants: Tenants, import_sets: Importer
) -> None:
    same_epoch = fake_iss(epoch_offset=timedelta(0))
    first = await _upload(client, tenants.a_analyst, same_epoch)
    assert first.json()["inserted"] == 1
    again = await _upload(client, tenants.a_analyst, same_epoch)
    assert (again.json()["inserted"], again.json()["already_present"]) == (0, 1)
    # The public catalog's own copy of that epoch is still "already present" to it.
    assert (await import_sets([public_iss()])).already_present == 1

    url = f"{OBJECTS}/{ISS}/element-sets"
    pages = [await _get(client, url, tenants.a_analyst, limit=1)]
    while pages[-1]["next_cursor"]:
        pages.append(
            await _get(client, url, tenants.a_analyst, limit=1, cursor=pages[-1]["next_cursor"])
        )
    items = [item for page in pages for item in page["items"]]
    assert [(item["epoch"], item["overlay"]) for item in items] == [
        (iso(public_iss().epoch), False),
        (iso(public_iss().epoch), True),
    ]
    # At the same epoch the organisation's own set is the one its analyses use.
    detail = await _get(client, f"{OBJECTS}/{ISS}", tenants.a_analyst)
    assert detail["latest_element_set"]["overlay"] is True
    theirs = await _get(client, f"{OBJECTS}/{ISS}", tenants.b_viewer)
    assert theirs["latest_element_set"]["overlay"] is False
    assert theirs["element_set_count"] == 1


async def _audit(app: FastAPI, action: str) -> list[AuditEntry]:
    async with session_scope(app.state.sessionmaker) as session:
        statement = select(AuditEntry).where(AuditEntry.action == action)
        return list((await session.execute(statement)).scalars())


async def test_a_platform_admin_publishes_an_overlay_set_to_everyone(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, tenants: Tenants
) -> None:
    fake = fake_iss()
    await _upload(client, tenants.a_analyst, fake)
    history = await _get(client, f"{OBJECTS}/{ISS}/element-sets", tenants.a_analyst)
    set_id = history["items"][-1]["id"]
    publish = f"{UPLOAD}/{set_id}/publish"

    # Neither the uploader nor its organisation's admin may publish; both refusals audited.
    a_admin = await factory.login(tenants.a, role="admin")
    for headers in (tenants.a_analyst, a_admin):
        assert (await client.post(publish, headers=headers)).status_code == 403
        assert (await client.get(OVERLAYS, headers=headers)).status_code == 403
    denied = await _audit(app, "auth.permission_denied")
    assert {entry.details["scope"] for entry in denied} == {"catalog:admin"}
    assert len(denied) == 4
    assert (await _get(client, f"{OBJECTS}/{ISS}", tenants.b_viewer))["element_set_count"] == 1

    platform = await factory.login(await factory.organisation(), role="viewer", platform_admin=True)
    review = await _get(client, OVERLAYS, platform)
    assert [(item["id"], item["organisation_id"]) for item in review["items"]] == [
        (set_id, str(tenants.a.id))
    ]
    assert review["items"][0]["uploaded_by"] == tenants.a_analyst_id
    response = await client.post(publish, headers=platform)
    assert response.status_code == 200, response.text
    published = response.json()
    assert published["provenance"] == "organisation" and published["overlay"] is False
    assert published["published_at"] is not None

    detail = await _get(client, f"{OBJECTS}/{ISS}", tenants.b_viewer)
    latest = detail["latest_element_set"]
    assert latest["epoch"] == iso(fake.epoch)
    assert latest["provenance"] == "organisation" and latest["overlay"] is False
    assert latest["published_at"] == published["published_at"]
    assert latest["uploaded_by"] is None  # another tenant's user
    assert latest["id"] == set_id  # the id chooses the set for an analysis
    assert detail["name"] == "ISS (FAKE)" and detail["regime"] == "GEO"  # public now
    assert (await _get(client, OVERLAYS, platform))["items"] == []

    (entry,) = await _audit(app, "catalog.element_set_published")
    assert entry.organisation_id == tenants.a.id  # in the owner's own audit trail
    assert entry.object_id == str(set_id) and entry.details["catalog_number"] == ISS

    again = await client.post(publish, headers=platform)
    assert again.status_code == 409
    assert (await client.post(f"{UPLOAD}/987654/publish", headers=platform)).status_code == 404


async def test_publishing_over_an_existing_public_epoch_is_a_conflict(
    client: httpx.AsyncClient, factory: Factory, tenants: Tenants
) -> None:
    await _upload(client, tenants.a_analyst, fake_iss(epoch_offset=timedelta(0)))
    history = await _get(client, f"{OBJECTS}/{ISS}/element-sets", tenants.a_analyst)
    set_id = next(item["id"] for item in history["items"] if item["overlay"])
    platform = await factory.login(role="viewer", platform_admin=True)
    response = await client.post(f"{UPLOAD}/{set_id}/publish", headers=platform)
    assert response.status_code == 409
    assert response.json()["errors"][0]["loc"] == ["path", "set_id"]
    theirs = await _get(client, f"{OBJECTS}/{ISS}", tenants.b_viewer)
    assert theirs["name"] == "ISS (ZARYA)" and theirs["element_set_count"] == 1


async def test_only_platform_admins_upload_public_sets(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, tenants: Tenants
) -> None:
    refused = await _upload(client, tenants.a_analyst, fake_iss(), public="true")
    assert refused.status_code == 403
    assert (await _get(client, f"{OBJECTS}/{ISS}", tenants.a_analyst))["element_set_count"] == 1

    platform_user = await factory.user(
        await factory.organisation(), role="analyst", platform_admin=True
    )
    response = await _upload(client, factory.headers(platform_user), fake_iss(), public="true")
    assert response.status_code == 200, response.text
    latest = (await _get(client, f"{OBJECTS}/{ISS}", tenants.b_viewer))["latest_element_set"]
    assert latest["provenance"] == "platform" and latest["overlay"] is False
    assert latest["published_at"] is None
    (entry,) = await _audit(app, "catalog.element_sets_imported")
    assert entry.actor == str(platform_user.id)
    assert entry.details["visibility"] == "public" and entry.details["provenance"] == "platform"


async def test_malformed_ids_and_cursors_are_refused_by_name(
    client: httpx.AsyncClient, factory: Factory, tenants: Tenants
) -> None:
    platform = await factory.login(role="viewer", platform_admin=True)
    for bad in ("0", "-1", "abc", str(2**63), str(2**70)):
        response = await client.post(f"{UPLOAD}/{bad}/publish", headers=platform)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["loc"] == ["path", "set_id"]
    history = f"{OBJECTS}/{ISS}/element-sets"
    # Signed as the API signs them: what is refused is the value inside, not the signature.
    history_cursor = cursor_signer(factory.app.state.security, history)
    for cursor in (
        {"t": "2024-10-31T13:56:02+00:00", "i": str(2**64)},
        {"t": "2024-10-31T13:56:02+00:00", "i": "-3"},
        {"t": "yesterday", "i": "3"},
    ):
        response = await client.get(
            history, params={"cursor": history_cursor.encode(cursor)}, headers=tenants.b_viewer
        )
        assert response.status_code == 422, (cursor, response.text)
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
    overlays_cursor = cursor_signer(factory.app.state.security, OVERLAYS)
    response = await client.get(
        OVERLAYS, params={"cursor": overlays_cursor.encode({"id": "1e99"})}, headers=platform
    )
    assert response.status_code == 422
    response = await _upload(client, tenants.a_analyst, fake_iss(), public="maybe")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "public"]


async def test_two_organisations_may_overlay_the_same_unknown_number(
    client: httpx.AsyncClient, factory: Factory, tenants: Tenants
) -> None:
    b_analyst = await factory.login(tenants.b, role="analyst")
    for headers, name in ((tenants.a_analyst, "OURS"), (b_analyst, "THEIRS")):
        unknown = replace(fake_iss(), catalog_number="99990", object_name=name)
        assert (await _upload(client, headers, unknown)).json()["inserted"] == 1
    for headers, name in ((tenants.a_analyst, "OURS"), (tenants.b_viewer, "THEIRS")):
        detail = await _get(client, f"{OBJECTS}/99990", headers)
        assert detail["name"] == name and detail["element_set_count"] == 1
        listed = await _get(client, OBJECTS, headers, q="99990")
        assert [item["name"] for item in listed["items"]] == [name]
