"""Uploading an XTCE definition turns its default alarm ranges into limit sets, so the demo
spacecraft raises alarms out of the box, and never replaces a limit set already there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from lxml import etree

from astroshield.tm.demo import DEMO_XTCE_PATH
from tests.conftest import Factory
from tests.telemetry.support import Archive, iso, make_archive

XTCE_NS = "http://www.omg.org/spec/XTCE/20180204"
_LEVELS = {
    "WatchRange": "watch",
    "WarningRange": "warning",
    "DistressRange": "distress",
    "CriticalRange": "critical",
    "SevereRange": "severe",
}


def _demo_alarm_ranges() -> dict[str, dict[str, dict[str, float]]]:
    """The demo document's StaticAlarmRanges per parameter, read straight from the XML."""
    root = etree.parse(str(DEMO_XTCE_PATH)).getroot()
    ns = {"x": XTCE_NS}
    by_type: dict[str, dict[str, dict[str, float]]] = {}
    for static in root.iterfind(".//x:StaticAlarmRanges", ns):
        type_name = static.getparent().getparent().get("name")
        by_type[type_name] = {
            _LEVELS[etree.QName(r).localname]: {
                "low": float(r.get("minInclusive")),
                "high": float(r.get("maxInclusive")),
            }
            for r in static
            if isinstance(r.tag, str)
        }
    return {
        parameter.get("name"): by_type[parameter.get("parameterTypeRef")]
        for parameter in root.iterfind(".//x:ParameterSet/x:Parameter", ns)
        if parameter.get("parameterTypeRef") in by_type
    }


async def _upload_demo(client: httpx.AsyncClient, archive: Archive) -> None:
    response = await client.put(
        archive.base + "/dictionary",
        content=DEMO_XTCE_PATH.read_bytes(),
        headers={**archive.headers, "content-type": "application/xml"},
    )
    assert response.status_code == 200, response.text


async def _alerts_of(archive: Archive, parameter: str) -> list[dict[str, Any]]:
    listed = await archive.client.get("/api/v1/alerts", headers=archive.headers)
    assert listed.status_code == 200, listed.text
    return [a for a in listed.json()["items"] if a["labels"].get("parameter") == parameter]


async def test_default_alarm_ranges_become_limit_sets_that_raise_alarms(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    await _upload_demo(client, archive)
    expected = _demo_alarm_ranges()
    assert {"BATT_V", "BATT_I"} <= expected.keys()

    for name, ranges in expected.items():
        shown = await archive.get(f"/{name}/limits")
        assert shown.status_code == 200, (name, shown.text)
        assert shown.json()["ranges"] == ranges
        assert shown.json()["enabled"] is True
    parameters = (await archive.get("/parameters")).json()
    without = [p["name"] for p in parameters if p["name"] not in expected]
    assert without  # e.g. the mode enumeration and the dictionary of make_archive
    for name in without:
        assert (await archive.get(f"/{name}/limits")).status_code == 404

    # No one set a limit, yet a battery voltage under the critical range raises an alarm.
    critical_low = expected["BATT_V"]["critical"]["low"]
    sample = {
        "parameter": "BATT_V",
        "time": iso(datetime(2026, 11, 3, 12, tzinfo=UTC)),
        "value": critical_low - 0.5,
    }
    assert (await archive.post([sample], sequence=1)).status_code == 201
    [alert] = await _alerts_of(archive, "BATT_V")
    assert (alert["status"], alert["severity"], alert["labels"]["level"]) == (
        "firing",
        "critical",
        "critical",
    )


async def test_an_edited_limit_set_survives_a_new_upload(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    await _upload_demo(client, archive)
    tuned = {"ranges": {"warning": {"low": 26.0, "high": 29.0}}, "min_violations": 3}
    saved = await client.put(archive.base + "/BATT_V/limits", json=tuned, headers=archive.headers)
    assert saved.status_code == 200, saved.text
    assert (await archive.get("/BATT_I/limits")).status_code == 200  # the default

    await _upload_demo(client, archive)

    shown = (await archive.get("/BATT_V/limits")).json()
    assert shown["ranges"] == tuned["ranges"] and shown["min_violations"] == 3
    assert (await archive.get("/BATT_I/limits")).json()["ranges"] == _demo_alarm_ranges()["BATT_I"]
