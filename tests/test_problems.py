"""Bad input gets RFC 9457 problem+json naming the field, never a 500 or a partial write."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from astroshield.api.pagination import cursor_signer
from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.organisations.models import Organisation
from astroshield.users.models import User
from tests.conftest import Factory, settings_for
from tests.support.databases import _admin, is_postgres
from tests.support.servers import serving
from tests.telemetry.support import make_archive, stored_counts

PROBLEM = "application/problem+json"


def assert_problem(
    response: httpx.Response, status: int, loc: list[Any] | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    if loc is not None:
        locations = [error["loc"] for error in body["errors"]]
        assert loc in locations, locations
    return body


async def _count_spacecraft(client: httpx.AsyncClient) -> int:
    return len((await client.get("/api/v1/spacecraft")).json()["items"])


@pytest.fixture
async def org_id(client: httpx.AsyncClient, factory: Factory) -> str:
    """Logs the client in as an operator of a fresh organisation."""
    user = await factory.user(role="operator")
    client.headers.update(factory.headers(user))
    return str(user.organisation_id)


def _craft(org_id: str, **fields: Any) -> dict[str, Any]:
    return {"name": "Probe", **fields}


async def _own(factory: Factory, org_id: str) -> Organisation:
    async with factory.sessionmaker() as session:
        organisation = await session.get(Organisation, uuid.UUID(org_id))
    assert organisation is not None
    return organisation


async def test_malformed_json(client: httpx.AsyncClient, org_id: str) -> None:
    response = await client.post(
        "/api/v1/spacecraft", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][0] == "body"
    assert "malformed JSON" in body["errors"][0]["msg"]


async def test_wrong_content_type_is_415(client: httpx.AsyncClient, org_id: str) -> None:
    response = await client.post(
        "/api/v1/spacecraft",
        content=f"organisation_id={org_id}&name=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)
    assert await _count_spacecraft(client) == 0


async def test_missing_content_type_is_415(client: httpx.AsyncClient, org_id: str) -> None:
    response = await client.post("/api/v1/organisations", content=b'{"name":"a","slug":"ab"}')
    assert_problem(response, 415)


async def test_oversized_declared_body_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    big = b'{"name": "' + b"x" * settings.max_request_body_bytes + b'"}'
    response = await client.post(
        "/api/v1/organisations", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(settings.max_request_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        "/api/v1/organisations", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


async def test_unknown_field(client: httpx.AsyncClient, org_id: str) -> None:
    response = await client.post("/api/v1/spacecraft", json=_craft(org_id, owner="mallory"))
    body = assert_problem(response, 422, ["body", "owner"])
    assert body["errors"][0]["msg"] == "unknown field"


async def test_missing_required_field(client: httpx.AsyncClient, org_id: str) -> None:
    response = await client.post("/api/v1/spacecraft", json={"organisation_id": org_id})
    assert_problem(response, 422, ["body", "name"])


async def test_out_of_range_values(client: httpx.AsyncClient, org_id: str) -> None:
    too_long = await client.post("/api/v1/spacecraft", json=_craft(org_id, name="x" * 129))
    assert_problem(too_long, 422, ["body", "name"])
    empty = await client.post("/api/v1/spacecraft", json=_craft(org_id, name="   "))
    assert_problem(empty, 422, ["body", "name"])
    limit = await client.get("/api/v1/spacecraft", params={"limit": 0})
    assert_problem(limit, 422, ["query", "limit"])
    huge = await client.get("/api/v1/spacecraft", params={"limit": 1_000_000})
    assert_problem(huge, 422, ["query", "limit"])


@pytest.mark.parametrize(
    "catalog_number", ["0", "1234567890", "I0001", "O1234", "25544A", "-5", "AB123"]
)
async def test_invalid_catalog_number(
    client: httpx.AsyncClient, org_id: str, catalog_number: str
) -> None:
    response = await client.post(
        "/api/v1/spacecraft", json=_craft(org_id, catalog_number=catalog_number)
    )
    assert_problem(response, 422, ["body", "catalog_number"])


@pytest.mark.parametrize("cospar_id", ["1998-67A", "1950-001A", "98067", "1998-067I", "2020-000A"])
async def test_invalid_cospar_id(client: httpx.AsyncClient, org_id: str, cospar_id: str) -> None:
    response = await client.post("/api/v1/spacecraft", json=_craft(org_id, cospar_id=cospar_id))
    assert_problem(response, 422, ["body", "cospar_id"])


async def test_wrong_type_and_bad_enum(
    client: httpx.AsyncClient, factory: Factory, org_id: str
) -> None:
    craft = await factory.spacecraft(await _own(factory, org_id))
    response = await client.post(
        f"/api/v1/spacecraft/{craft.id}/status",
        json={"reported_at": 12, "mode": "hibernating", "health": ["nominal"]},
    )
    body = assert_problem(response, 422)
    locations = {tuple(error["loc"]) for error in body["errors"]}
    assert {("body", "mode"), ("body", "health")} <= locations


async def test_naive_and_future_timestamps(
    client: httpx.AsyncClient, factory: Factory, org_id: str
) -> None:
    craft = await factory.spacecraft(await _own(factory, org_id))
    naive = await client.post(
        f"/api/v1/spacecraft/{craft.id}/status",
        json={"reported_at": "2026-01-01T00:00:00", "mode": "standby", "health": "nominal"},
    )
    assert_problem(naive, 422, ["body", "reported_at"])
    future = await client.post(
        f"/api/v1/spacecraft/{craft.id}/status",
        json={
            "reported_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "mode": "standby",
            "health": "nominal",
        },
    )
    assert_problem(future, 422, ["body", "reported_at"])
    history = await client.get(f"/api/v1/spacecraft/{craft.id}/status/history")
    assert history.json()["items"] == []  # nothing half-written


async def test_bad_path_id(client: httpx.AsyncClient, org_id: str) -> None:
    response = await client.get("/api/v1/spacecraft/not-a-uuid")
    assert_problem(response, 422, ["path", "spacecraft_id"])
    # The status route parses its id by hand (hot path): same answer, same documentation.
    response = await client.get("/api/v1/spacecraft/not-a-uuid/status")
    assert_problem(response, 422, ["path", "spacecraft_id"])
    schema = (await client.get("/openapi.json")).json()
    parameters = schema["paths"]["/api/v1/spacecraft/{spacecraft_id}/status"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["schema"]["format"]) for p in parameters] == [
        ("spacecraft_id", "path", "uuid")
    ]


async def test_invalid_cursor(client: httpx.AsyncClient, org_id: str) -> None:
    for cursor in ("%%%", "eyJub3QiOiJpZCJ9", "bm90IGpzb24"):
        response = await client.get("/api/v1/spacecraft", params={"cursor": cursor})
        assert_problem(response, 422, ["query", "cursor"])


async def test_history_window_reversed(
    client: httpx.AsyncClient, factory: Factory, org_id: str
) -> None:
    craft = await factory.spacecraft(await _own(factory, org_id))
    now = datetime.now(UTC)
    response = await client.get(
        f"/api/v1/spacecraft/{craft.id}/status/history",
        params={"start": now.isoformat(), "stop": (now - timedelta(hours=1)).isoformat()},
    )
    assert_problem(response, 422, ["query", "stop"])


async def test_organisation_cannot_be_chosen_by_the_client(
    client: httpx.AsyncClient, org_id: str
) -> None:
    other = str(uuid.uuid4())
    response = await client.post("/api/v1/spacecraft", json=_craft(org_id, organisation_id=other))
    body = assert_problem(response, 422, ["body", "organisation_id"])
    assert body["errors"][0]["msg"] == "unknown field"


async def test_duplicates_are_409_naming_the_field(
    client: httpx.AsyncClient, org_id: str, factory: Factory
) -> None:
    first = await client.post("/api/v1/spacecraft", json=_craft(org_id, catalog_number="25544"))
    assert first.status_code == 201
    same_name = await client.post("/api/v1/spacecraft", json=_craft(org_id))
    assert_problem(same_name, 409, ["body", "name"])
    same_number = await client.post(
        "/api/v1/spacecraft", json=_craft(org_id, name="Other", catalog_number="25544")
    )
    assert_problem(same_number, 409, ["body", "catalog_number"])
    platform = await factory.login(role="admin", platform_admin=True)
    slug = await client.post(
        "/api/v1/organisations", json={"name": "A", "slug": "dup-slug"}, headers=platform
    )
    assert slug.status_code == 201
    again = await client.post(
        "/api/v1/organisations", json={"name": "B", "slug": "dup-slug"}, headers=platform
    )
    assert_problem(again, 409, ["body", "slug"])
    assert await _count_spacecraft(client) == 1


async def test_patch_cannot_null_name_or_rename_onto_another(
    client: httpx.AsyncClient, factory: Factory, org_id: str
) -> None:
    organisation = await _own(factory, org_id)
    first = await factory.spacecraft(organisation, name="One")
    await factory.spacecraft(organisation, name="Two")
    nulled = await client.patch(f"/api/v1/spacecraft/{first.id}", json={"name": None})
    assert_problem(nulled, 422, ["body", "name"])
    clash = await client.patch(f"/api/v1/spacecraft/{first.id}", json={"name": "Two"})
    assert_problem(clash, 409, ["body", "name"])
    unchanged = await client.get(f"/api/v1/spacecraft/{first.id}")
    assert unchanged.json()["name"] == "One"


async def test_method_not_allowed_and_unknown_route(client: httpx.AsyncClient, org_id: str) -> None:
    assert_problem(await client.put("/api/v1/spacecraft", json={}), 405)
    assert_problem(await client.get("/api/v1/no-such-thing"), 404)


async def test_unexpected_exception_is_500_without_internals(settings: Settings) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert body["instance"] == "/boom"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/livez", headers={"x-request-id": "trace-abc-12345"})
    assert given.headers["x-request-id"] == "trace-abc-12345"
    injected = await client.get("/livez", headers={"x-request-id": "bad\nid"})
    assert injected.headers["x-request-id"] != "bad\nid"
    assert len(injected.headers["x-request-id"]) == 32


# Hostile input: each of these answered 500 (and a real server dropped the connection).


JSON = {"content-type": "application/json"}


async def test_cursor_with_a_naive_timestamp_is_refused(
    client: httpx.AsyncClient, factory: Factory, org_id: str
) -> None:
    craft = await factory.spacecraft(await _own(factory, org_id))
    path = f"/api/v1/spacecraft/{craft.id}/status/history"
    values = {"t": "2026-01-01T00:00:00", "id": str(uuid.uuid4())}
    forged = base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")
    assert_problem(await client.get(path, params={"cursor": forged}), 422, ["query", "cursor"])
    # Even signed with the app's own key, a value the API would never write is refused.
    signer = cursor_signer(factory.app.state.security, path)
    for bad in (values, {"t": "0001-01-01T00:00:00+14:00", "id": str(uuid.uuid4())}):
        response = await client.get(path, params={"cursor": signer.encode(bad)})
        assert_problem(response, 422, ["query", "cursor"])


async def test_cursor_from_another_list_is_refused(
    client: httpx.AsyncClient, factory: Factory, org_id: str
) -> None:
    organisation = await _own(factory, org_id)
    for n in range(3):
        await factory.spacecraft(organisation, name=f"Craft {n}")
    first = await client.get("/api/v1/spacecraft", params={"limit": 1})
    cursor = first.json()["next_cursor"]
    assert (await client.get("/api/v1/spacecraft", params={"cursor": cursor})).status_code == 200
    admin = await factory.login(organisation, role="admin")
    elsewhere = await client.get("/api/v1/users", params={"cursor": cursor}, headers=admin)
    assert_problem(elsewhere, 422, ["query", "cursor"])
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    assert_problem(
        await client.get("/api/v1/spacecraft", params={"cursor": tampered}),
        422,
        ["query", "cursor"],
    )


@pytest.mark.parametrize("audit_id", ["99999999999999999999999", "٣", "²", "-1", "1e3"])
async def test_audit_cursor_with_a_huge_or_foreign_digit_id_is_refused(
    client: httpx.AsyncClient, factory: Factory, audit_id: str
) -> None:
    admin = await factory.login(role="admin")
    path = "/api/v1/audit"
    forged = base64.urlsafe_b64encode(orjson.dumps({"id": audit_id})).decode().rstrip("=")
    signer = cursor_signer(factory.app.state.security, path)
    for cursor in (forged, signer.encode({"id": audit_id})):
        response = await client.get(path, params={"cursor": cursor}, headers=admin)
        assert_problem(response, 422, ["query", "cursor"])


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
async def test_alert_rule_with_a_non_finite_clear_threshold_is_refused(
    client: httpx.AsyncClient, factory: Factory, literal: bytes
) -> None:
    admin = await factory.login(role="admin")
    body = (
        b'{"key": "bus.low", "name": "Bus low", "metric": "bus_voltage", "comparison": "below",'
        b' "thresholds": {"warning": 10}, "clear_threshold": ' + literal + b"}"
    )
    response = await client.post("/api/v1/alerts/rules", content=body, headers=admin | JSON)
    assert_problem(response, 422, ["body", "clear_threshold"])
    assert (await client.get("/api/v1/alerts/rules", headers=admin)).json() == []


async def test_lone_surrogate_in_telemetry_source_id_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    body = (
        b'{"source_id": "gs-\\ud800", "sequence": 1, "samples": [{"parameter": "bus_voltage",'
        b' "time": "2026-11-01T00:00:00Z", "value": 28.0}]}'
    )
    response = await client.post(archive.base, content=body, headers=archive.headers | JSON)
    assert_problem(response, 422, ["body", "source_id"])
    assert await stored_counts(factory.app) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"), [("sequence", 2**63), ("source_id", "s" * 129), ("source_id", 7)]
)
async def test_batch_key_fields_are_checked_with_an_idempotency_key_too(
    client: httpx.AsyncClient, factory: Factory, field: str, value: object
) -> None:
    """They are stored with the batch: a BIGINT or VARCHAR(128) overflow was a 500."""
    archive = await make_archive(client, factory)
    batch = {"source_id": "gs-1", "sequence": 1, "samples": []} | {field: value}
    response = await client.post(
        archive.base, json=batch, headers=archive.headers | {"idempotency-key": "batch-1"}
    )
    assert_problem(response, 422, ["body", field])
    assert await stored_counts(factory.app) == (0, 0)


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "Sat\\u0000one"}',
        b'{"name": "Sat", "description": "\\udc00"}',
        b'{"name": "Sat", "description": "a\\ud800b"}',
    ],
)
async def test_nul_or_lone_surrogate_in_a_string_is_refused_naming_it(
    client: httpx.AsyncClient, org_id: str, body: bytes
) -> None:
    """PostgreSQL text cannot hold NUL; a lone surrogate is not Unicode at all."""
    response = await client.post("/api/v1/spacecraft", content=body, headers=JSON)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] in (["body", "name"], ["body", "description"])
    assert await _count_spacecraft(client) == 0


async def test_nul_in_query_path_or_header_is_refused(
    client: httpx.AsyncClient, factory: Factory, org_id: str
) -> None:
    response = await client.get("/api/v1/spacecraft", params={"name": "Sat\x00"})
    assert_problem(response, 422, ["query", "name"])
    craft = await factory.spacecraft(await _own(factory, org_id))
    response = await client.get(f"/api/v1/spacecraft/{craft.id}/telemetry/bus%00voltage")
    assert_problem(response, 422, ["path"])
    body = b'{"source_id": "gs", "sequence": 1, "samples": []}'
    response = await client.post(
        f"/api/v1/spacecraft/{craft.id}/telemetry",
        content=body,
        headers=JSON | {"idempotency-key": "key\x00"},
    )
    assert_problem(response, 422, ["header", "idempotency-key"])


async def test_nul_byte_in_a_text_body_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A TLE name line with a NUL was stored as the object's name (PostgreSQL: a 500)."""
    admin = await factory.login(role="admin", platform_admin=True)
    tle = (
        "ISS\x00(ZARYA)\n"
        "1 25544U 98067A   24305.58058399  .00035180  00000-0  60166-3 0  9990\n"
        "2 25544  51.6392 359.7717 0008966 122.2149 237.9710 15.50886758479706\n"
    )
    response = await client.post(
        "/api/v1/catalog/element-sets",
        content=tle.encode(),
        headers=admin | {"content-type": "text/plain"},
    )
    assert_problem(response, 422, ["body"])
    listed = await client.get("/api/v1/catalog/objects", headers=admin)
    assert listed.json()["items"] == []


@pytest.mark.parametrize("last_event_id", [b"99999999999999999999999", "٣".encode(), b"-1", b"x"])
async def test_last_event_id_beyond_64_bits_is_refused_before_the_stream_starts(
    client: httpx.AsyncClient, factory: Factory, last_event_id: bytes
) -> None:
    viewer = await factory.login(role="viewer")
    response = await asyncio.wait_for(
        client.get("/api/v1/alerts/stream", headers=viewer | {"last-event-id": last_event_id}),
        timeout=30,
    )
    assert_problem(response, 422, ["header", "Last-Event-ID"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reported_at", "0001-01-01T00:00:00+14:00"),
        ("reported_at", "1900-01-01T00:00:00Z"),
        ("orbit_epoch", "9999-12-31T23:59:59-14:00"),
    ],
)
async def test_timestamps_outside_the_service_years_are_refused(
    client: httpx.AsyncClient, factory: Factory, org_id: str, field: str, value: str
) -> None:
    craft = await factory.spacecraft(await _own(factory, org_id))
    report = {"reported_at": "2026-01-01T00:00:00Z", "mode": "standby", "health": "nominal"}
    response = await client.post(
        f"/api/v1/spacecraft/{craft.id}/status", json=report | {field: value}
    )
    assert_problem(response, 422, ["body", field])
    history = await client.get(
        f"/api/v1/spacecraft/{craft.id}/status/history", params={"start": value}
    )
    assert_problem(history, 422, ["query", "start"])


@pytest.mark.slow
async def test_json_nested_100000_deep_is_refused_and_the_connection_kept(
    settings: Settings, factory: Factory
) -> None:
    """Over a real HTTP server: a 500 from an exception makes uvicorn close the connection."""
    user = await factory.user(role="admin", platform_admin=True)
    craft = await factory.spacecraft(await factory.organisation())
    headers = factory.headers(user)
    deep = b"[" * 100_000 + b"]" * 100_000
    targets = [
        "/api/v1/catalog/element-sets",  # the OMM JSON reader recursed
        "/api/v1/spacecraft",
        "/api/v1/alerts/rules",
        f"/api/v1/spacecraft/{craft.id}/telemetry",  # reads its body itself
    ]
    async with serving(create_app(settings)) as base_url:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits) as http:
            first = await http.get("/livez")
            connection = first.extensions["network_stream"].get_extra_info("client_addr")
            for path in targets:
                response = await http.post(path, content=deep, headers=headers | JSON)
                problem = assert_problem(response, 422, ["body"])
                assert "nested deeper" in problem["errors"][0]["msg"]
                after = await http.get("/livez")
                assert after.extensions["network_stream"].get_extra_info("client_addr") == (
                    connection
                )


async def test_openapi_declares_every_error_as_problem_json(client: httpx.AsyncClient) -> None:
    """Found by the API fuzzer: FastAPI declared its own JSON 422 body, which this API
    never sends, and no other error at all."""
    document = (await client.get("/openapi.json")).json()
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "4XX" in responses, (method, path)
            for code, response in responses.items():
                if code[0] in "45":
                    assert response["content"] == {PROBLEM: problem}, (method, path, code)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail", "instance"]


async def test_database_refusing_connections_is_503_with_retry_after(
    database_url: str,
) -> None:
    """Found by the API fuzzer on PostgreSQL ("sorry, too many clients already"): a
    database that refuses connections answered 500 (and uvicorn dropped the connection)."""
    if not is_postgres(database_url):
        pytest.skip("connection limits are PostgreSQL's")
    role = f"astroshield_limited_{secrets.token_hex(4)}"
    await _admin(database_url, f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        limited = make_url(database_url).set(username=role, password=None)
        app = create_app(settings_for(limited.render_as_string(hide_password=False)))
        async with app.router.lifespan_context(app):
            user = User(id=uuid.uuid4(), organisation_id=uuid.uuid4(), role="viewer")
            user.is_platform_admin = False
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get(
                    "/api/v1/spacecraft", headers=Factory(app).headers(user)
                )
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "1"
    finally:
        await _admin(database_url, f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/auth/session"])
async def test_login_with_an_address_of_separators_only_is_refused(
    client: httpx.AsyncClient, path: str
) -> None:
    """Found by the API fuzzer: "\\x1f" passed the length check, then stripped to nothing
    when the e-mail index was taken (a 500)."""
    response = await client.post(path, json={"email": "\x1f", "password": "secret"})
    assert_problem(response, 422, ["body", "email"])
