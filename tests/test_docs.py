"""Interactive docs work offline: every asset the page loads is served by the app itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Factory
from tests.conjunction.cdms import ANNEX_KVN, ANNEX_XML


async def test_docs_page_loads_only_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    # Document-only security headers are on the HTML page; every answer has the rest.
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert page.headers["x-content-type-options"] == "nosniff"
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls += re.findall(r"""url: ?["']([^"']+)["']""", page.text)
    assert urls, page.text
    for url in urls:
        assert not url.startswith(("http://", "https://", "//")), f"external asset {url}"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0


async def test_openapi_lists_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/api/v1/spacecraft", "/api/v1/spacecraft/{spacecraft_id}/status"} <= set(spec["paths"])


# Bodies an example cannot show: raw bytes (Swagger UI offers a file chooser; the request
# body's description says what to send and where the definition comes from).
NO_EXAMPLE = {
    ("POST /api/v1/spacecraft/{spacecraft_id}/telemetry/packets", "application/octet-stream"),
}


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    """Swagger UI and ReDoc show the media type's ``example(s)``, else the schema's."""
    if "example" in media or media.get("examples"):
        return True
    schema = _schema(spec, media.get("schema", {}))
    return "example" in schema or bool(schema.get("examples"))


def _request_bodies(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{method.upper()} {path}", media_type, media


async def test_every_request_body_has_an_example(client: httpx.AsyncClient) -> None:
    """/docs alone should teach the API: each body an operation takes, in each media type
    it accepts, comes with an example a person can send."""
    spec = (await client.get("/openapi.json")).json()
    bodies = list(_request_bodies(spec))
    assert len(bodies) > 20  # the walk found the API, not an empty document
    missing = [
        f"{operation} ({media_type})"
        for operation, media_type, media in bodies
        if not _has_example(spec, media) and (operation, media_type) not in NO_EXAMPLE
    ]
    assert missing == [], "request bodies without an example:\n" + "\n".join(missing)


def _example(spec: dict[str, Any], method: str, path: str, media_type: str) -> Any:
    """The example /docs shows for one body: the media type's, else the schema's first."""
    media = spec["paths"][path][method]["requestBody"]["content"][media_type]
    if "example" in media:
        return media["example"]
    if media.get("examples"):
        return next(iter(media["examples"].values()))["value"]
    schema = _schema(spec, media["schema"])
    return schema["examples"][0] if "examples" in schema else schema["example"]


@pytest.mark.slow  # a CDM's Pc by every method, an orbit analysis: ~10 s on 2 cores
async def test_the_examples_work_as_sent(client: httpx.AsyncClient, factory: Factory) -> None:
    """A newcomer walks /docs sending each example unchanged (ids from earlier answers put
    into the path): register the annex CDM's spacecraft, upload the CDM, import the ISS in
    every format, describe and ingest telemetry, propagate and analyse the ISS."""
    spec = (await client.get("/openapi.json")).json()
    headers = await factory.login(await factory.organisation(), role="admin")

    async def send(method: str, path: str, media_type: str = "application/json", **ids: str):
        example = _example(spec, method, path, media_type)
        url = path.format(**ids)
        if media_type == "application/json":
            return await client.request(method, url, json=example, headers=headers)
        content_type = {"Content-Type": media_type}
        return await client.request(method, url, content=example, headers=headers | content_type)

    created = await send("post", "/api/v1/spacecraft")
    assert created.status_code == 201, created.text
    ids = {"spacecraft_id": created.json()["id"]}
    for path, method, media_type, expected in [
        ("/api/v1/spacecraft/{spacecraft_id}", "patch", "application/json", 200),
        ("/api/v1/spacecraft/{spacecraft_id}/status", "post", "application/json", 201),
        ("/api/v1/conjunctions/cdms", "post", "text/plain", 201),
        ("/api/v1/catalog/element-sets", "post", "text/plain", 200),
        ("/api/v1/catalog/element-sets", "post", "application/json", 200),
        ("/api/v1/catalog/element-sets", "post", "application/xml", 200),
        ("/api/v1/catalog/element-sets", "post", "text/csv", 200),
        ("/api/v1/spacecraft/{spacecraft_id}/telemetry/dictionary", "put", "application/xml", 200),
        ("/api/v1/spacecraft/{spacecraft_id}/telemetry/parameters", "put", "application/json", 200),
        ("/api/v1/spacecraft/{spacecraft_id}/telemetry", "post", "application/json", 201),
        ("/api/v1/alerts/rules", "post", "application/json", 201),
        ("/api/v1/trajectory/propagate", "post", "application/json", 200),
        ("/api/v1/trajectory/analyze", "post", "application/json", 200),
        ("/api/v1/trajectory/analyze/ground-track.png", "post", "application/json", 200),
    ]:
        response = await send(method, path, media_type, **ids)
        assert response.status_code == expected, f"{method} {path} {media_type}: {response.text}"
    limits = "/api/v1/spacecraft/{spacecraft_id}/telemetry/{parameter}/limits"
    response = await send("put", limits, parameter="BATT_V", **ids)
    assert response.status_code == 200, response.text
    # The XML example is the same annex message (its MESSAGE_ID is now taken): the very
    # files whose KVN and XML readings tests/astro/test_cdm.py finds equal.
    for media_type, reference in (("text/plain", ANNEX_KVN), ("application/xml", ANNEX_XML)):
        sent = _example(spec, "post", "/api/v1/conjunctions/cdms", media_type)
        assert sent == reference.read_text(encoding="utf-8")


def _nullable(schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in schema.get("anyOf", []))


async def test_schema_examples_match_their_schema(client: httpx.AsyncClient) -> None:
    """An example written beside a model names every required field and no field the model
    lacks, so a renamed or added field cannot leave /docs teaching the old shape."""
    spec = (await client.get("/openapi.json")).json()
    checked, wrong = 0, []
    for name, schema in spec["components"]["schemas"].items():
        if "properties" not in schema:
            continue
        for example in schema.get("examples", []):
            checked += 1
            unknown = set(example) - set(schema["properties"])
            # FastAPI writes the document without nulls, examples' included: a required
            # field that may be null can be absent from the example as shown.
            missing = {
                field
                for field in set(schema.get("required", [])) - set(example)
                if not _nullable(schema["properties"][field])
            }
            if unknown or missing:
                wrong.append(f"{name}: unknown {sorted(unknown)}, missing {sorted(missing)}")
    assert checked >= 25  # the request models and the main responses
    assert wrong == []
