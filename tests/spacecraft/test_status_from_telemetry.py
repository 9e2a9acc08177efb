"""A spacecraft's health from its telemetry limit alarms, an operator override with a reason
and an expiry, and its last contact; through the real API on the run's database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from astroshield.db import session_scope
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import StatusCache
from tests.conftest import Factory
from tests.telemetry.support import T0, Archive, iso, make_archive
from tests.telemetry.test_limits import BATTERY_LIMITS, limit_alerts, put_limits, voltages
from tests.test_problems import assert_problem

# bus_voltage: warning outside 25.5..29.4 V, critical outside 24.0..30.5 V; one sample alarms.
LIMITS = {**BATTERY_LIMITS, "min_violations": 1}


async def status_of(archive: Archive) -> dict[str, Any]:
    response = await archive.client.get(
        f"/api/v1/spacecraft/{archive.spacecraft_id}/status", headers=archive.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def history_of(archive: Archive) -> list[dict[str, Any]]:
    response = await archive.client.get(
        f"/api/v1/spacecraft/{archive.spacecraft_id}/status/history", headers=archive.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def report(archive: Archive, **fields: Any) -> httpx.Response:
    body = {"reported_at": iso(datetime.now(UTC)), "mode": "operational", **fields}
    return await archive.client.post(
        f"/api/v1/spacecraft/{archive.spacecraft_id}/status", json=body, headers=archive.headers
    )


def in_hours(hours: float) -> str:
    return iso(datetime.now(UTC) + timedelta(hours=hours))


async def limited_archive(client: httpx.AsyncClient, factory: Factory) -> Archive:
    archive = await make_archive(client, factory)
    assert (await put_limits(archive, LIMITS)).status_code == 200
    return archive


async def test_health_follows_the_open_limit_alarms(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    before = await status_of(archive)
    assert (before["health"], before["health_source"], before["contact"]) == (
        "unknown",
        "none",
        "never",
    )
    assert (await put_limits(archive, LIMITS)).status_code == 200

    await archive.post(voltages(0, [28.0]), sequence=1)
    nominal = await status_of(archive)
    assert (nominal["health"], nominal["health_source"]) == ("nominal", "telemetry")
    assert nominal["health_reasons"] == [] and nominal["override"] is None

    await archive.post(voltages(1, [29.6]), sequence=2)  # outside the warning range only
    [alert] = await limit_alerts(archive)
    degraded = await status_of(archive)
    assert degraded["health"] == "degraded"
    assert degraded["health_reasons"] == [
        {"parameter": "bus_voltage", "level": "warning", "alert_id": alert["id"]}
    ]

    await archive.post(voltages(2, [31.0]), sequence=3)  # outside the critical range
    critical = await status_of(archive)
    assert critical["health"] == "critical"
    assert critical["health_reasons"][0]["level"] == "critical"

    # Acknowledged is still a problem on board: the health stays critical.
    acked = await client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", json={}, headers=archive.headers
    )
    assert acked.json()["status"] == "acknowledged"
    await archive.post(voltages(3, [30.9]), sequence=4)
    assert (await status_of(archive))["health"] == "critical"

    await archive.post(voltages(4, [28.0]), sequence=5)  # back in limits
    back = await status_of(archive)
    assert (back["health"], back["health_source"], back["health_reasons"]) == (
        "nominal",
        "telemetry",
        [],
    )

    history = await history_of(archive)
    assert [(row["source"], row["health"], row["reason"]) for row in history] == [
        ("telemetry", "nominal", "no open limit alarms"),
        ("telemetry", "critical", "bus_voltage critical"),
        ("telemetry", "degraded", "bus_voltage warning"),
        ("telemetry", "nominal", "no open limit alarms"),
    ]


async def test_each_yamcs_level_maps_to_a_health(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    nested = {"watch": 1.0, "warning": 2.0, "distress": 3.0, "critical": 4.0, "severe": 5.0}
    ranges = {level: {"low": 28.0 - d, "high": 28.0 + d} for level, d in nested.items()}
    assert (await put_limits(archive, {"ranges": ranges, "min_violations": 1})).status_code == 200
    # Each value is just outside one level's range and inside the next one's.
    for sequence, (value, level, health) in enumerate(
        [
            (29.5, "watch", "degraded"),
            (30.5, "warning", "degraded"),
            (31.5, "distress", "critical"),
            (32.5, "critical", "critical"),
            (33.5, "severe", "critical"),
        ]
    ):
        await archive.post(voltages(sequence, [value]), sequence=sequence)
        status = await status_of(archive)
        assert (status["health"], [r["level"] for r in status["health_reasons"]]) == (
            health,
            [level],
        ), value


async def test_concurrent_batches_each_count_their_alarm(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await limited_archive(client, factory)
    panel = {"ranges": {"warning": {"low": -10.0, "high": 40.0}}, "min_violations": 1}
    response = await client.put(
        archive.base + "/panel_temp/limits", json=panel, headers=archive.headers
    )
    assert response.status_code == 200, response.text
    hot = [{"parameter": "panel_temp", "time": iso(T0), "value": 45.0}]
    posted = await asyncio.gather(
        archive.post(voltages(0, [31.0]), sequence=1, source="gs-1"),
        archive.post(hot, sequence=1, source="gs-2"),
    )
    assert [response.status_code for response in posted] == [201, 201]
    status = await status_of(archive)
    assert status["health"] == "critical"
    assert [(r["parameter"], r["level"]) for r in status["health_reasons"]] == [
        ("bus_voltage", "critical"),
        ("panel_temp", "warning"),
    ]


async def test_a_report_and_a_batch_at_once(client: httpx.AsyncClient, factory: Factory) -> None:
    archive = await limited_archive(client, factory)
    override = {"reason": "pass over Svalbard", "expires_at": in_hours(1)}
    posted = await asyncio.gather(
        report(archive, health="degraded", override=override),
        archive.post(voltages(0, [31.0]), sequence=1),
    )
    assert [response.status_code for response in posted] == [201, 201]
    status = await status_of(archive)
    assert (status["health"], status["health_source"]) == ("degraded", "override")
    assert {row["source"] for row in await history_of(archive)} == {"override", "telemetry"}


async def test_a_shelved_alarm_still_counts(client: httpx.AsyncClient, factory: Factory) -> None:
    archive = await limited_archive(client, factory)
    await archive.post(voltages(0, [29.6]), sequence=1)
    [alert] = await limit_alerts(archive)
    shelved = await client.post(
        f"/api/v1/alerts/{alert['id']}/shelve", json={"duration_s": 3600}, headers=archive.headers
    )
    assert shelved.status_code == 200, shelved.text
    await archive.post(voltages(1, [29.7]), sequence=2)
    assert (await status_of(archive))["health"] == "degraded"


async def test_a_latched_alarm_back_in_limits_does_not_hold_the_health(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await limited_archive(client, factory)
    await archive.post(voltages(0, [31.0]), sequence=1)
    await archive.post(voltages(1, [28.0]), sequence=2)
    [alert] = await limit_alerts(archive)
    assert (alert["status"], alert["labels"]["level"]) == ("firing", "in_limits")  # latched
    assert (await status_of(archive))["health"] == "nominal"


async def test_disabled_limits_leave_the_health(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await limited_archive(client, factory)
    await archive.post(voltages(0, [31.0]), sequence=1)
    assert (await put_limits(archive, {**LIMITS, "enabled": False})).status_code == 200
    [alert] = await limit_alerts(archive)
    assert alert["status"] == "firing"  # the alarm itself waits for an operator
    status = await status_of(archive)
    assert (status["health"], status["health_reasons"]) == ("nominal", [])
    assert (await put_limits(archive, LIMITS)).status_code == 200
    assert (await status_of(archive))["health"] == "critical"


async def test_override_wins_until_it_expires(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await limited_archive(client, factory)
    await archive.post(voltages(0, [31.0]), sequence=1)
    assert (await status_of(archive))["health"] == "critical"

    expires_at = in_hours(2)
    reason = "heater test; undervoltage expected"
    accepted = await report(
        archive, health="nominal", override={"reason": reason, "expires_at": expires_at}
    )
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["current_health"], accepted.json()["health_source"]) == (
        "nominal",
        "override",
    )
    overridden = await status_of(archive)
    assert (overridden["health"], overridden["health_source"]) == ("nominal", "override")
    assert overridden["health_reasons"] == []
    override = overridden["override"]
    assert override["reason"] == reason
    assert datetime.fromisoformat(override["expires_at"]) == datetime.fromisoformat(expires_at)
    assert override["set_by"] is not None and override["set_at"] is not None
    craft = {"headers": archive.headers}
    listed = await client.get("/api/v1/spacecraft", params={"health": "nominal"}, **craft)
    assert [item["id"] for item in listed.json()["items"]] == [archive.spacecraft_id]
    assert listed.json()["items"][0]["health_source"] == "override"

    # The service's clock is not moved: the expiry is moved to now instead, as if two hours
    # had gone by (and the one-second status cache with them).
    expired_at = datetime.now(UTC)  # after the override was set, before what follows
    craft_id = uuid.UUID(archive.spacecraft_id)
    async with session_scope(app.state.sessionmaker) as session:
        await session.execute(
            update(Spacecraft)
            .where(Spacecraft.id == craft_id)
            .values(override_expires_at=expired_at)
        )
    cache: StatusCache = app.state.status_cache
    cache.invalidate((archive.organisation.id, craft_id))

    lapsed = await status_of(archive)
    assert (lapsed["health"], lapsed["health_source"], lapsed["override"]) == (
        "critical",
        "telemetry",
        None,
    )
    assert [r["level"] for r in lapsed["health_reasons"]] == ["critical"]
    listed = await client.get("/api/v1/spacecraft", params={"health": "critical"}, **craft)
    assert [item["id"] for item in listed.json()["items"]] == [archive.spacecraft_id]
    empty = await client.get("/api/v1/spacecraft", params={"health": "nominal"}, **craft)
    assert empty.json()["items"] == []

    # The next recompute (a sample of a limited parameter) writes the expiry down.
    await archive.post(voltages(1, [31.1]), sequence=2)
    [expired, *_] = await history_of(archive)
    assert (expired["source"], expired["health"]) == ("override-expired", "critical")
    assert datetime.fromisoformat(expired["reported_at"]) == expired_at
    assert reason in expired["reason"]
    assert [(row["source"], row["health"]) for row in await history_of(archive)][1:] == [
        ("override", "nominal"),
        ("telemetry", "critical"),
    ]


async def test_plain_report_is_history_once_telemetry_drives_the_health(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await limited_archive(client, factory)
    await archive.post(voltages(0, [29.6]), sequence=1)
    accepted = await report(archive, mode="safe_mode", health="nominal", health_summary="fine")
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert (body["health"], body["source"]) == ("nominal", "report")
    assert (body["current_health"], body["health_source"]) == ("degraded", "telemetry")
    status = await status_of(archive)
    assert (status["mode"], status["health"], status["health_summary"]) == (
        "safe_mode",
        "degraded",
        "fine",
    )
    assert (await history_of(archive))[0]["source"] == "report"


async def test_report_health_until_telemetry_and_clearing_an_override(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    craft = await factory.spacecraft(organisation)
    operator = await factory.login(organisation, role="operator")
    archive = Archive(client, operator, str(craft.id), organisation)
    override_path = f"/api/v1/spacecraft/{craft.id}/status/override"

    assert (await report(archive, health="degraded")).json()["health_source"] == "report"
    assert (await client.delete(override_path, headers=operator)).status_code == 404
    await report(archive, health="critical", override={"reason": "bad", "expires_at": in_hours(1)})
    assert (await status_of(archive))["health"] == "critical"

    viewer = await factory.login(organisation, role="viewer")
    assert (await client.delete(override_path, headers=viewer)).status_code == 403
    assert (await client.delete(override_path, headers=operator)).status_code == 204
    status = await status_of(archive)
    assert (status["health"], status["health_source"], status["override"]) == (
        "degraded",
        "report",
        None,
    )
    assert [(row["source"], row["health"]) for row in await history_of(archive)] == [
        ("override-cleared", "degraded"),
        ("override", "critical"),
        ("report", "degraded"),
    ]
    assert (await client.delete(override_path, headers=operator)).status_code == 404

    admin = await factory.login(organisation, role="admin")
    audit = await client.get(
        "/api/v1/audit", params={"action": "spacecraft.status_override_cleared"}, headers=admin
    )
    [entry] = audit.json()["items"]
    assert entry["object_id"] == str(craft.id)
    assert entry["details"]["override_reason"] == "bad"


async def test_override_needs_a_reason_and_an_expiry_within_30_days(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    craft = await factory.spacecraft(organisation)
    archive = Archive(client, await factory.login(organisation), str(craft.id), organisation)
    for override, loc in [
        ({"reason": "x", "expires_at": in_hours(-1)}, ["body", "override", "expires_at"]),
        ({"reason": "x", "expires_at": in_hours(24 * 30 + 1)}, ["body", "override", "expires_at"]),
        ({"reason": "x", "expires_at": "2026-12-31T00:00:00"}, ["body", "override", "expires_at"]),
        ({"reason": "", "expires_at": in_hours(1)}, ["body", "override", "reason"]),
        ({"reason": "x" * 501, "expires_at": in_hours(1)}, ["body", "override", "reason"]),
        ({"expires_at": in_hours(1)}, ["body", "override", "reason"]),
        ({"reason": "x"}, ["body", "override", "expires_at"]),
    ]:
        assert_problem(await report(archive, health="nominal", override=override), 422, loc)
    assert await history_of(archive) == []


async def test_last_contact_from_telemetry_and_reports(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    await archive.post(voltages(0, [28.0]), sequence=1)  # T0: weeks ago
    old = await status_of(archive)
    assert datetime.fromisoformat(old["last_contact_at"]) == T0
    assert old["contact"] == "stale"
    assert old["health_source"] == "none"  # telemetry without limits derives nothing

    sampled = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    sample = {"parameter": "panel_temp", "time": iso(sampled), "value": 21.5}
    assert (await archive.post([sample], sequence=2)).status_code == 201
    # An older contact in a report does not move it back.
    await report(archive, health="nominal", last_contact_at=iso(sampled - timedelta(hours=1)))
    current = await status_of(archive)
    assert datetime.fromisoformat(current["last_contact_at"]) == sampled
    assert current["contact"] == "current"
    shown = await client.get(f"/api/v1/spacecraft/{archive.spacecraft_id}", headers=archive.headers)
    assert (shown.json()["contact"], shown.json()["health_source"]) == ("current", "report")
    assert datetime.fromisoformat(shown.json()["last_contact_at"]) == sampled


async def test_list_filters_mode_health_and_the_status_alias(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    headers = await factory.login(organisation, role="operator")
    crafts = {
        name: await factory.spacecraft(organisation, name=name)
        for name in ("alpha", "bravo", "charlie")
    }
    for name, mode, health in [
        ("alpha", "operational", "nominal"),
        ("bravo", "operational", "critical"),
        ("charlie", "safe_mode", "critical"),
    ]:
        archive = Archive(client, headers, str(crafts[name].id), organisation)
        assert (await report(archive, mode=mode, health=health)).status_code == 201

    async def names(**params: str) -> list[str]:
        response = await client.get("/api/v1/spacecraft", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return sorted(item["name"] for item in response.json()["items"])

    assert await names(mode="operational") == ["alpha", "bravo"]
    assert await names(status="operational") == ["alpha", "bravo"]
    assert await names(mode="safe_mode", status="safe_mode") == ["charlie"]
    assert await names(health="critical") == ["bravo", "charlie"]
    assert await names(mode="operational", health="critical") == ["bravo"]
    assert await names(health="degraded") == []
    both = await client.get(
        "/api/v1/spacecraft", params={"mode": "operational", "status": "standby"}, headers=headers
    )
    assert_problem(both, 422, ["query", "status"])

    spec = (await client.get("/openapi.json")).json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/spacecraft"]["get"]["parameters"]}
    assert parameters["status"]["deprecated"] is True
    assert {"mode", "health"} <= parameters.keys()


async def test_another_organisation_cannot_read_set_or_clear_the_override(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await limited_archive(client, factory)
    await report(archive, health="nominal", override={"reason": "ours", "expires_at": in_hours(1)})
    intruder = await factory.login(role="admin")
    base = f"/api/v1/spacecraft/{archive.spacecraft_id}/status"
    body = {
        "reported_at": iso(datetime.now(UTC)),
        "mode": "standby",
        "health": "critical",
        "override": {"reason": "theirs", "expires_at": in_hours(1)},
    }
    for method, path, json in [
        ("GET", base, None),
        ("POST", base, body),
        ("DELETE", base + "/override", None),
        ("GET", base + "/history", None),
    ]:
        response = await client.request(method, path, json=json, headers=intruder)
        assert_problem(response, 404)
    status = await status_of(archive)
    assert (status["health"], status["override"]["reason"]) == ("nominal", "ours")
