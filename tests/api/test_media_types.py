"""The request-body media types people send (issue 15): each operation that reads a body
other than JSON reads every type it declares, with or without a charset; any other type is
a 415 listing the accepted ones (``accepted``); a body that is not what its type says is a
422 naming the body. The OpenAPI document declares exactly the types each path reads."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.conftest import Factory
from tests.conjunction.cdms import ANNEX_KVN, ANNEX_OBJECT1, ANNEX_XML

from astroshield.api.examples import ISS_OMM_JSON, example_text
from astroshield.astro.formats.omm import format_omm_kvn, parse_omm_json
from astroshield.catalog.formats import UPLOAD_MEDIA_TYPES
from astroshield.catalog.router import UPLOAD_MEDIA_TYPES_BY_PATH
from astroshield.conjunction.router import BODY_MEDIA_TYPES as CDM_MEDIA_TYPES
from astroshield.telemetry.router import BODY_MEDIA_TYPES as TELEMETRY_MEDIA_TYPES
from astroshield.tm.demo import DEMO_XTCE_PATH

UPLOAD = "/api/v1/catalog/element-sets"
CDMS = "/api/v1/conjunctions/cdms"
ISS_KVN = format_omm_kvn(
    parse_omm_json(json.dumps(ISS_OMM_JSON)), creation_date=datetime(2024, 11, 1, tzinfo=UTC)
)
CATALOG_BODIES = [
    ("text/plain; charset=utf-8", example_text("iss.tle")),
    ("text/plain", ISS_KVN),
    ("application/json; charset=UTF-8", json.dumps(ISS_OMM_JSON)),
    ("application/json", json.dumps(ISS_OMM_JSON[0])),  # one object, not an array
    ("application/xml", example_text("iss_omm.xml")),
    ("text/xml; charset=utf-8", example_text("iss_omm.xml")),
    ("text/csv; charset=utf-8", example_text("iss_omm.csv")),
]


@pytest.mark.parametrize(("media", "body"), CATALOG_BODIES)
async def test_catalog_upload_reads_every_declared_type(
    client: httpx.AsyncClient, factory: Factory, media: str, body: str
) -> None:
    headers = await factory.login(role="analyst") | {"content-type": media}
    response = await client.post(UPLOAD, content=body.encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["received"] == 1 and response.json()["inserted"] == 1
    history = await client.get("/api/v1/catalog/objects/25544/element-sets", headers=headers)
    assert [item["epoch"] for item in history.json()["items"]] == ["2024-10-31T13:56:02.456736Z"]


def _refused_415(response: httpx.Response, sent: str, accepted: list[str]) -> None:
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["accepted"] == accepted
    assert all(media in problem["detail"] for media in accepted)
    assert sent in problem["detail"]


async def test_other_types_are_refused_listing_the_accepted_ones(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation)
    headers = await factory.login(organisation, role="admin")
    telemetry = f"/api/v1/spacecraft/{spacecraft.id}/telemetry"
    cases: list[tuple[str, str, str, list[str]]] = [
        ("POST", UPLOAD, "application/pdf", sorted(UPLOAD_MEDIA_TYPES)),
        ("POST", CDMS, "application/json", ["application/xml", "text/plain", "text/xml"]),
        (
            "PUT",
            telemetry + "/dictionary",
            "application/json",
            ["application/xml", "application/xtce+xml", "text/xml"],
        ),
        ("POST", telemetry + "/packets", "text/plain", ["application/octet-stream"]),
        ("POST", "/api/v1/spacecraft", "text/plain", ["application/json"]),
    ]
    for method, path, sent, accepted in cases:
        response = await client.request(
            method, path, content=b"{}", headers=headers | {"content-type": sent}
        )
        _refused_415(response, sent, accepted)


@pytest.mark.parametrize(
    ("media", "body"),
    [
        ("application/xml", example_text("iss.tle")),
        ("application/json", example_text("iss_omm.csv")),
        ("text/csv", example_text("iss_omm.xml")),
    ],
)
async def test_a_body_unlike_its_type_is_refused_naming_the_body(
    client: httpx.AsyncClient, factory: Factory, media: str, body: str
) -> None:
    headers = await factory.login(role="analyst") | {"content-type": media}
    response = await client.post(UPLOAD, content=body.encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][0] == "body"


@pytest.mark.parametrize(
    ("media", "path", "status"),
    [
        ("text/plain; charset=utf-8", ANNEX_KVN, 201),
        ("text/xml", ANNEX_XML, 201),
        ("application/xml", ANNEX_KVN, 422),
    ],
)
async def test_cdm_upload_types(
    client: httpx.AsyncClient, factory: Factory, media: str, path: Any, status: int
) -> None:
    organisation = await factory.organisation()
    await factory.spacecraft(organisation, catalog_number=ANNEX_OBJECT1)
    headers = await factory.login(organisation, role="analyst") | {"content-type": media}
    response = await client.post(CDMS, content=path.read_bytes(), headers=headers)
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["errors"][0]["loc"][0] == "body"


@pytest.mark.parametrize("media", ["application/xml", "text/xml; charset=utf-8"])
async def test_telemetry_dictionary_reads_xml_types(
    client: httpx.AsyncClient, factory: Factory, media: str
) -> None:
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation)
    headers = await factory.login(organisation, role="operator") | {"content-type": media}
    response = await client.put(
        f"/api/v1/spacecraft/{spacecraft.id}/telemetry/dictionary",
        content=DEMO_XTCE_PATH.read_bytes(),
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()


def _concrete(template: str) -> str:
    """An OpenAPI path template with a value in each parameter, to match the guard's regexes."""
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)


async def test_openapi_declares_exactly_the_types_each_path_reads(
    client: httpx.AsyncClient,
) -> None:
    registered = {**UPLOAD_MEDIA_TYPES_BY_PATH, **CDM_MEDIA_TYPES, **TELEMETRY_MEDIA_TYPES}
    spec = (await client.get("/openapi.json")).json()
    found = set()
    for template, operations in spec["paths"].items():
        for pattern, accepted in registered.items():
            if not re.match(pattern, _concrete(template)):
                continue
            for method in ("post", "put", "patch"):
                if method in operations:
                    declared = set(operations[method]["requestBody"]["content"])
                    assert declared == set(accepted), (template, method)
                    found.add(pattern)
    assert found == set(registered)


async def test_json_bodies_elsewhere_still_take_a_charset(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    headers = await factory.login(organisation, role="admin")
    response = await client.post(
        "/api/v1/spacecraft",
        content=json.dumps({"name": f"media-{uuid.uuid4().hex[:6]}"}).encode(),
        headers=headers | {"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["created_at"]) > datetime.now(UTC) - timedelta(
        hours=1
    )
