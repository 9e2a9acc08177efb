"""CCSDS packet ingest with the spacecraft's XTCE definition (the demo spacecraft)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from astroshield.tm.demo import DEMO_XTCE_PATH, demo_frames, demo_packets
from tests.conftest import Factory
from tests.telemetry.support import Archive, make_archive, stored_counts

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
OCTETS = {"content-type": "application/octet-stream"}


async def _with_demo_definition(client: httpx.AsyncClient, factory: Factory) -> Archive:
    archive = await make_archive(client, factory)
    response = await client.put(
        archive.base + "/dictionary",
        content=DEMO_XTCE_PATH.read_bytes(),
        headers={**archive.headers, "content-type": "application/xml"},
    )
    assert response.status_code == 200, response.text
    assert {"BATT_V", "MODE", "RATE_Z"} <= {p["name"] for p in response.json()}
    return archive


async def _post_packets(
    archive: Archive, data: bytes, sequence: int, **headers: str
) -> httpx.Response:
    return await archive.client.post(
        archive.base + "/packets",
        content=data,
        headers={
            **archive.headers,
            **OCTETS,
            "X-Source-Id": "gs-svalbard",
            "X-Sequence": str(sequence),
            **headers,
        },
    )


async def test_demo_packets_are_decoded_and_archived(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await _with_demo_definition(client, factory)
    frames = demo_frames(START, 30, seed=3)

    response = await _post_packets(archive, demo_packets(START, 30, seed=3), sequence=1)
    retried = await _post_packets(archive, demo_packets(START, 30, seed=3), sequence=1)

    assert response.status_code == 201, response.text
    assert retried.status_code == 200
    expected = sum(len(frame.values) for frame in frames)
    assert response.json()["accepted"] == expected
    assert await stored_counts(app) == (expected, 1)
    # Every stored value is the generator's value for that parameter and time.
    by_parameter: dict[str, dict[str, float]] = {}
    for frame in frames:
        for name, value in frame.values.items():
            stamp = frame.time.isoformat().replace("+00:00", "Z")
            by_parameter.setdefault(name, {})[stamp] = float(value)
    for name, values in by_parameter.items():
        page = (await archive.get(f"/{name}", limit=100)).json()
        stored = {item["time"]: item["value"] for item in page["items"]}
        assert stored.keys() == values.keys(), name
        for stamp, value in values.items():
            assert math.isclose(stored[stamp], value, rel_tol=1e-12, abs_tol=1e-12), name


async def test_a_truncated_packet_is_refused_naming_packet_and_offset(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await _with_demo_definition(client, factory)
    data = demo_packets(START, 3)

    response = await _post_packets(archive, data[:-5], sequence=1)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert "packet 5" in problem["detail"] and "byte offset" in problem["detail"]
    assert "truncated" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "packets", 5]
    assert await stored_counts(app) == (0, 0)


async def test_a_packet_of_an_unknown_apid_is_refused(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await _with_demo_definition(client, factory)
    data = bytearray(demo_packets(START, 2))
    packet_length = 7 + int.from_bytes(data[4:6])
    second = packet_length  # the second packet starts here; give it APID 0x123
    data[second] = (data[second] & 0xF8) | 0x01
    data[second + 1] = 0x23

    response = await _post_packets(archive, bytes(data), sequence=1)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert f"packet 1 at byte offset {second}" in detail
    assert "0x123" in detail.lower()
    assert await stored_counts(app) == (0, 0)


async def test_packets_need_a_definition_and_a_batch_key(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    data = demo_packets(START, 1)

    no_definition = await _post_packets(archive, data, sequence=1)
    no_key = await client.post(
        archive.base + "/packets", content=data, headers={**archive.headers, **OCTETS}
    )

    assert no_definition.status_code == 409
    assert no_key.status_code == 422
    assert [e["loc"] for e in no_key.json()["errors"]] == [
        ["header", "X-Source-Id"],
        ["header", "X-Sequence"],
    ]


async def test_a_bad_xtce_document_is_refused_naming_the_element(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    broken = DEMO_XTCE_PATH.read_text().replace(
        'parameterTypeRef="BATT_V_Type"', 'parameterTypeRef="NO_SUCH_Type"'
    )

    response = await client.put(
        archive.base + "/dictionary",
        content=broken.encode(),
        headers={**archive.headers, "content-type": "application/xml"},
    )

    assert response.status_code == 422, response.text
    assert "BATT_V" in response.json()["detail"] or "NO_SUCH_Type" in response.json()["detail"]
