"""CDM intake: Pc of every method stored, idempotent re-sends, refusals that name the
keyword and line, and one organisation never seeing another's events."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from astroshield.astro.conjunction.report import pc_report
from astroshield.astro.formats import cdm as cdm_mod
from tests.conftest import Factory
from tests.conjunction.cdms import (
    ANNEX_KVN,
    ANNEX_OBJECT1,
    ANNEX_OBJECT2,
    ANNEX_XML,
    kvn,
    omitron_cdm,
    omitron_pc_for_20m,
    xml,
)
from tests.conjunction.conftest import KVN, XML, operator_with, upload

PROBLEM = "application/problem+json"


def _reference_report(path: str) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cdm_mod.CdmWarning)
        # The annex gives AREA_PC for both objects: the API takes the radius from it.
        return pc_report(cdm_mod.read_cdm(path)).as_dict()


@pytest.mark.parametrize(("path", "media"), [(ANNEX_KVN, KVN), (ANNEX_XML, XML)])
async def test_upload_stores_event_and_every_pc(
    client: httpx.AsyncClient, factory: Factory, path: object, media: dict[str, str]
) -> None:
    me = await operator_with(factory, ANNEX_OBJECT1)
    response = await upload(client, path.read_bytes(), me.headers, media)  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    body = response.json()
    expected = _reference_report(str(path))
    assert body["duplicate"] is False
    event, cdm = body["event"], body["cdm"]
    assert event["spacecraft_id"] == str(me.spacecraft.id)
    assert event["primary_catalog_number"] == ANNEX_OBJECT1
    assert event["secondary_catalog_number"] == ANNEX_OBJECT2
    assert event["secondary_name"] == "FENGYUN 1C DEB"
    assert event["tca"] == "2010-03-13T22:37:52.618000Z"
    assert event["miss_distance_m"] == 715.0
    assert event["pc"] == pytest.approx(expected["pc_2d_foster"], rel=1e-12)
    assert event["tier"] == "green"  # 1.4e-9, far below CARA's 1e-5
    assert event["state"] == "closed"  # TCA in 2010
    for method in ("pc_2d_foster", "pc_2d_chan", "pc_max", "pc_3d"):
        assert cdm[method] == pytest.approx(expected[method], rel=1e-12)
    assert cdm["pc_mc"] == pytest.approx(expected["pc_mc"]["value"], abs=1e-12)  # type: ignore[index]
    assert cdm["message_id"] == "201113719185"
    assert cdm["format"] == ("kvn" if media is KVN else "xml")
    # The published example's OBJECT1 covariance is not positive definite: reported.
    assert body["report"]["covariance_repaired"] is True
    assert any("CR_R" in issue for issue in body["report"]["issues"])


async def test_pc_matches_the_independent_cara_value(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "41001")
    tca = datetime.now(UTC) + timedelta(days=2)
    message = omitron_cdm(
        primary="41001",
        secondary="41002",
        tca=tca,
        creation=datetime.now(UTC),
        message_id="OMITRON-1",
        hbr_each_m=10.0,  # combined 20 m, the fixture's HBR
        primary_is_object2=True,
    )
    response = await upload(client, xml(message), me.headers, XML)
    assert response.status_code == 201, response.text
    event = response.json()["event"]
    # CARA PcCircle; the fixture's own tolerance for Foster is 1e-3.
    assert event["pc"] == pytest.approx(omitron_pc_for_20m(), rel=1e-3)
    assert event["tier"] == "yellow"
    assert event["state"] == "open"
    assert event["primary_catalog_number"] == "41001"  # our object was OBJECT2
    assert event["secondary_catalog_number"] == "41002"


async def test_resent_message_is_acknowledged_and_stored_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, ANNEX_OBJECT1)
    first = await upload(client, ANNEX_KVN.read_bytes(), me.headers)
    again = await upload(client, ANNEX_KVN.read_bytes(), me.headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["cdm"]["id"] == first.json()["cdm"]["id"]
    event_id = first.json()["event"]["id"]
    detail = (await client.get(f"/api/v1/conjunctions/{event_id}", headers=me.headers)).json()
    assert len(detail["cdms"]) == 1

    altered = ANNEX_KVN.read_text().replace(
        "MISS_DISTANCE                 = 715", "MISS_DISTANCE = 716"
    )
    assert altered != ANNEX_KVN.read_text()
    conflict = await upload(client, altered.encode(), me.headers)
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["loc"] == ["body", "MESSAGE_ID"]


def _without_line(text: str, keyword: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(keyword + " "))


def _replace_line(text: str, keyword: str, new: str) -> str:
    return "\n".join(new if line.startswith(keyword + " ") else line for line in text.splitlines())


MALFORMED_KVN = [
    ("missing mandatory", lambda t: _without_line(t, "TCA"), "TCA"),
    (
        "bad unit",
        lambda t: _replace_line(t, "MISS_DISTANCE", "MISS_DISTANCE = 0.7 [km]"),
        "MISS_DISTANCE",
    ),
    (
        "not a number",
        lambda t: _replace_line(t, "MISS_DISTANCE", "MISS_DISTANCE = far"),
        "MISS_DISTANCE",
    ),
    ("typo keyword", lambda t: t.replace("MISS_DISTANCE ", "MISS_DISTANSE "), "MISS_DISTANSE"),
    (
        "bad frame",
        lambda t: t.replace("REF_FRAME                     = EME2000", "REF_FRAME = MOON2000", 1),
        "REF_FRAME",
    ),
    ("bad epoch", lambda t: _replace_line(t, "TCA", "TCA = 2010-13-13T22:37:52"), "TCA"),
]


@pytest.mark.parametrize(
    ("edit", "keyword"),
    [(edit, kw) for _, edit, kw in MALFORMED_KVN],
    ids=[name for name, _, _ in MALFORMED_KVN],
)
async def test_malformed_kvn_names_keyword_and_line(
    client: httpx.AsyncClient, factory: Factory, edit: object, keyword: str
) -> None:
    me = await operator_with(factory, ANNEX_OBJECT1)
    text = edit(ANNEX_KVN.read_text())  # type: ignore[operator]
    response = await upload(client, text.encode(), me.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    (error,) = problem["errors"]
    assert error["loc"] == ["body", keyword]
    assert keyword in problem["detail"]
    assert "line" in error["msg"]
    listed = (await client.get("/api/v1/conjunctions", headers=me.headers)).json()
    assert listed["items"] == []  # nothing stored


async def test_malformed_xml_and_wrong_encoding_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, ANNEX_OBJECT1)
    text = ANNEX_XML.read_text()
    truncated = await upload(client, text[: len(text) // 2].encode(), me.headers, XML)
    assert truncated.status_code == 422
    assert truncated.headers["content-type"] == PROBLEM
    missing = await upload(
        client,
        text.replace("<MISS_DISTANCE", "<MISS_DISTANCEX")
        .replace("</MISS_DISTANCE>", "</MISS_DISTANCEX>")
        .encode(),
        me.headers,
        XML,
    )
    assert missing.status_code == 422
    assert "MISS_DISTANCE" in missing.json()["detail"]
    kvn_as_xml = await upload(client, ANNEX_KVN.read_bytes(), me.headers, XML)
    assert kvn_as_xml.status_code == 422
    not_utf8 = await upload(client, b"CCSDS_CDM_VERS = 1.0\n\xff\xfe", me.headers)
    assert not_utf8.status_code == 422
    empty_ish = await upload(client, b"   \n", me.headers)
    assert empty_ish.status_code == 422
    as_json = await client.post("/api/v1/conjunctions/cdms", json={"cdm": "x"}, headers=me.headers)
    assert as_json.status_code == 415
    listed = (await client.get("/api/v1/conjunctions", headers=me.headers)).json()
    assert listed["items"] == []


async def test_cdm_about_someone_elses_objects_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "99999")
    response = await upload(client, ANNEX_KVN.read_bytes(), me.headers)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "OBJECT_DESIGNATOR"]
    # It says which objects the CDM is about and how to register one of them.
    assert problem["catalog_numbers"] == [ANNEX_OBJECT1, ANNEX_OBJECT2]
    assert ANNEX_OBJECT1 in problem["detail"] and ANNEX_OBJECT2 in problem["detail"]
    assert "POST /api/v1/spacecraft" in problem["detail"]
    assert f'"catalog_number": "{ANNEX_OBJECT1}"' in problem["detail"]


async def test_upload_needs_the_write_scope(client: httpx.AsyncClient, factory: Factory) -> None:
    me = await operator_with(factory, ANNEX_OBJECT1, role="viewer")
    response = await upload(client, ANNEX_KVN.read_bytes(), me.headers)
    assert response.status_code == 403


async def test_other_organisations_events_are_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await operator_with(factory, ANNEX_OBJECT1)
    created = (await upload(client, ANNEX_KVN.read_bytes(), owner.headers)).json()
    event_id, cdm_id = created["event"]["id"], created["cdm"]["id"]
    # The other organisation tracks the same object and even has the same catalog number.
    other = await operator_with(factory, ANNEX_OBJECT1)
    base = f"/api/v1/conjunctions/{event_id}"
    for path in (
        base,
        f"{base}/cdms/{cdm_id}",
        f"{base}/cdm",
        f"{base}/encounter.png",
        f"{base}/pc-history.png",
        f"{base}/avoidance",
    ):
        response = await client.get(path, headers=other.headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
    listed = (await client.get("/api/v1/conjunctions", headers=other.headers)).json()
    assert listed["items"] == []
    # Its own copy of the same message is its own event.
    own = await upload(client, ANNEX_KVN.read_bytes(), other.headers)
    assert own.status_code == 201
    assert own.json()["event"]["id"] != event_id


async def test_stored_cdm_is_served_as_received_or_re_encoded(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, ANNEX_OBJECT1)
    created = (await upload(client, ANNEX_KVN.read_bytes(), me.headers)).json()
    path = f"/api/v1/conjunctions/{created['event']['id']}/cdms/{created['cdm']['id']}"
    raw = await client.get(path, headers=me.headers)
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text == ANNEX_KVN.read_text()
    as_xml = await client.get(path, params={"format": "xml"}, headers=me.headers)
    assert as_xml.headers["content-type"].startswith("application/xml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cdm_mod.CdmWarning)
        assert cdm_mod.loads(as_xml.text) == cdm_mod.read_cdm(ANNEX_KVN)
    exported = await client.get(
        f"/api/v1/conjunctions/{created['event']['id']}/cdm",
        params={"format": "kvn"},
        headers=me.headers,
    )
    assert exported.status_code == 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cdm_mod.CdmWarning)
        assert cdm_mod.loads(exported.text) == cdm_mod.read_cdm(ANNEX_KVN)
    unknown = await client.get(
        f"/api/v1/conjunctions/{created['event']['id']}/cdms/{created['event']['id']}",
        headers=me.headers,
    )
    assert unknown.status_code == 404


async def test_list_filters_and_pages_by_tca(client: httpx.AsyncClient, factory: Factory) -> None:
    me = await operator_with(factory, "41001")
    now = datetime.now(UTC)
    for hours, hbr, name in ((30, 20.0, "C"), (10, 5.0, "A"), (20, 10.0, "B")):
        message = omitron_cdm(
            primary="41001",
            secondary="41002",
            tca=now + timedelta(hours=hours),
            creation=now - timedelta(hours=1),
            message_id=f"LIST-{name}",
            hbr_each_m=hbr,
        )
        assert (await upload(client, kvn(message), me.headers)).status_code == 201
    url = "/api/v1/conjunctions"
    page = (await client.get(url, params={"limit": 2}, headers=me.headers)).json()
    second = (
        await client.get(
            url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=me.headers
        )
    ).json()
    tcas = [item["tca"] for item in page["items"] + second["items"]]
    assert len(tcas) == 3 and tcas == sorted(tcas)
    assert second["next_cursor"] is None
    tiers = [item["tier"] for item in page["items"] + second["items"]]
    assert tiers == ["green", "yellow", "red"]  # combined HBR 10, 20, 40 m
    red = (await client.get(url, params={"tier": "red"}, headers=me.headers)).json()["items"]
    assert len(red) == 1 and red[0]["pc"] > 1e-4
    window = {
        "tca_after": (now + timedelta(hours=15)).isoformat(),
        "tca_before": (now + timedelta(hours=25)).isoformat(),
    }
    middle = (await client.get(url, params=window, headers=me.headers)).json()["items"]
    assert [item["tier"] for item in middle] == ["yellow"]
    closed = (await client.get(url, params={"status": "closed"}, headers=me.headers)).json()
    assert closed["items"] == []
    mine = (
        await client.get(url, params={"spacecraft_id": str(me.spacecraft.id)}, headers=me.headers)
    ).json()
    assert len(mine["items"]) == 3
    elsewhere = (
        await client.get(url, params={"spacecraft_id": str(uuid.uuid4())}, headers=me.headers)
    ).json()
    assert elsewhere["items"] == []
    reversed_window = {"tca_after": window["tca_before"], "tca_before": window["tca_after"]}
    bad = await client.get(url, params=reversed_window, headers=me.headers)
    assert bad.status_code == 422
