"""End to end: the demo spacecraft's CCSDS packets, with an injected battery fault, raise a
latched limit alarm through the packet ingest endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from astroshield.tm.demo import DEMO_XTCE_PATH, Fault, demo_definition, demo_packets
from tests.conftest import Factory
from tests.telemetry.support import make_archive

START = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


async def test_an_injected_fault_raises_a_latched_alarm_after_min_violations(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    uploaded = await client.put(
        archive.base + "/dictionary",
        content=DEMO_XTCE_PATH.read_bytes(),
        headers={**archive.headers, "content-type": "application/xml"},
    )
    assert uploaded.status_code == 200, uploaded.text
    # The operational limits the definition ships with (XTCE DefaultAlarm).
    low, high = demo_definition().alarm_ranges["BATT_V"]["critical"]
    limits = {"ranges": {"critical": {"low": low, "high": high}}, "min_violations": 4}
    response = await client.put(
        archive.base + "/BATT_V/limits", json=limits, headers=archive.headers
    )
    assert response.status_code == 200, response.text

    async def post(data: bytes, sequence: int) -> None:
        answer = await client.post(
            archive.base + "/packets",
            content=data,
            headers={
                **archive.headers,
                "content-type": "application/octet-stream",
                "X-Source-Id": "gs-1",
                "X-Sequence": str(sequence),
            },
        )
        assert answer.status_code == 201, answer.text

    async def battery_alerts() -> list[dict[str, object]]:
        listed = await client.get("/api/v1/alerts", headers=archive.headers)
        return [a for a in listed.json()["items"] if a["labels"].get("parameter") == "BATT_V"]

    # Three out-of-limits packets: one short of min_violations.
    await post(demo_packets(START, 10, faults=[Fault("BATT_V", 5, 3, 31.0)]), 1)
    assert await battery_alerts() == []
    # A longer fault: fires, then the voltage recovers but the alarm stays latched.
    await post(demo_packets(START.replace(hour=13), 10, faults=[Fault("BATT_V", 2, 5, 23.5)]), 2)
    [alert] = await battery_alerts()
    assert (alert["status"], alert["severity"], alert["labels"]["level"]) == (
        "firing",
        "critical",
        "in_limits",
    )
