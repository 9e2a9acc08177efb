"""Telemetry limits through the real API: limit sets edited at run time, alarms raised
only after the minimum count of consecutive violations, latched until acknowledged."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.alerts.models import AlertRule
from astroshield.audit.models import AuditEntry
from astroshield.db import session_scope
from tests.conftest import Factory
from tests.telemetry.support import T0, Archive, iso, make_archive

BATTERY_LIMITS = {
    "ranges": {
        "warning": {"low": 25.5, "high": 29.4},
        "critical": {"low": 24.0, "high": 30.5},
    },
    "min_violations": 3,
}


def voltages(start_s: int, values: list[float]) -> list[dict[str, Any]]:
    return [
        {"parameter": "bus_voltage", "time": iso(T0 + timedelta(seconds=start_s + i)), "value": v}
        for i, v in enumerate(values)
    ]


async def limit_alerts(archive: Archive) -> list[dict[str, Any]]:
    response = await archive.client.get("/api/v1/alerts", headers=archive.headers)
    assert response.status_code == 200, response.text
    return [a for a in response.json()["items"] if a["labels"].get("parameter") == "bus_voltage"]


async def put_limits(archive: Archive, body: dict[str, Any]) -> httpx.Response:
    return await archive.client.put(
        archive.base + "/bus_voltage/limits", json=body, headers=archive.headers
    )


async def test_alarm_after_min_violations_across_batches_and_latched_until_ack(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    saved = await put_limits(archive, BATTERY_LIMITS)
    assert saved.status_code == 200, saved.text
    assert saved.json()["min_violations"] == 3

    # Two violations: below the minimum, no alarm; the samples carry their limit state.
    assert (await archive.post(voltages(0, [28.0, 31.0, 31.2]), sequence=1)).status_code == 201
    assert await limit_alerts(archive) == []
    page = (await archive.get("/bus_voltage", order="asc")).json()
    assert [s["limit"] for s in page["items"]] == [None, "critical", "critical"]

    # The third consecutive violation arrives in the next batch: the count spans batches.
    assert (await archive.post(voltages(3, [29.6]), sequence=2)).status_code == 201
    [alert] = await limit_alerts(archive)
    assert (alert["status"], alert["severity"]) == ("firing", "warning")
    assert alert["labels"]["level"] == "warning"
    assert alert["labels"]["spacecraft"] == archive.spacecraft_id

    # Back in limits: the alarm is latched and stays firing.
    assert (await archive.post(voltages(4, [28.0, 27.9]), sequence=3)).status_code == 201
    [alert] = await limit_alerts(archive)
    assert alert["status"] == "firing" and alert["labels"]["level"] == "in_limits"

    acked = await client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge",
        json={"comment": "transient"},
        headers=archive.headers,
    )
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "resolved"
    history = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=archive.headers)).json()
    assert [event["change"] for event in reversed(history["history"])] == [
        "fired",
        "acknowledged",
        "resolved",
    ]


async def test_escalation_and_ack_while_violating_then_clear(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    assert (await put_limits(archive, {**BATTERY_LIMITS, "min_violations": 1})).status_code == 200

    await archive.post(voltages(0, [29.6]), sequence=1)
    await archive.post(voltages(1, [31.0]), sequence=2)
    [alert] = await limit_alerts(archive)
    assert (alert["severity"], alert["labels"]["level"]) == ("critical", "critical")

    acked = await client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", json={}, headers=archive.headers
    )
    assert acked.json()["status"] == "acknowledged"  # still out of limits
    await archive.post(voltages(2, [28.0]), sequence=3)
    [alert] = await limit_alerts(archive)
    assert alert["status"] == "resolved"


async def test_limit_set_is_persisted_editable_and_shown_with_its_state(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    missing = await archive.get("/bus_voltage/limits")
    assert missing.status_code == 404

    await put_limits(archive, BATTERY_LIMITS)
    await archive.post(voltages(0, [31.0]), sequence=1)
    shown = (await archive.get("/bus_voltage/limits")).json()
    assert shown["ranges"]["critical"] == {"low": 24.0, "high": 30.5}
    assert shown["state"]["consecutive_violations"] == 1 and shown["state"]["level"] is None

    edited = await put_limits(
        archive, {"ranges": {"warning": {"low": 20.0, "high": 35.0}}, "enabled": False}
    )
    assert edited.status_code == 200
    shown = (await archive.get("/bus_voltage/limits")).json()
    assert shown["ranges"] == {"warning": {"low": 20.0, "high": 35.0}}
    assert shown["enabled"] is False and shown["min_violations"] == 1
    page = (await archive.get("/bus_voltage")).json()
    assert [s["limit"] for s in page["items"]] == [None]  # disabled limits mark nothing

    async with session_scope(app.state.sessionmaker) as session:
        rule = await session.get(AlertRule, uuid.UUID(shown["alert_rule_id"]))
        assert rule is not None and rule.latching and not rule.enabled
        rules = (await session.execute(select(AlertRule.id))).scalars().all()
        audited = (
            (
                await session.execute(
                    select(AuditEntry.action).where(AuditEntry.action == "telemetry.limits_updated")
                )
            )
            .scalars()
            .all()
        )
    assert len(rules) == 1  # one rule per limit set, updated in place
    assert len(audited) == 2


async def test_bad_limit_sets_are_refused_naming_the_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    narrower = await put_limits(
        archive,
        {"ranges": {"warning": {"low": 20, "high": 30}, "critical": {"low": 22, "high": 40}}},
    )
    assert narrower.status_code == 422
    assert "critical range must contain the warning range" in narrower.text
    for body in (
        {"ranges": {}},
        {"ranges": {"yellow": {"low": 1}}},
        {"ranges": {"warning": {"low": 5, "high": 1}}},
        {"ranges": {"warning": {}}},
        {"ranges": {"warning": {"low": 1}}, "min_violations": 0},
    ):
        response = await put_limits(archive, body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"], response.text
    text_parameter = await client.put(
        archive.base + "/nope/limits", json=BATTERY_LIMITS, headers=archive.headers
    )
    assert text_parameter.status_code == 404


async def test_limits_are_scoped_to_the_organisation(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    outsider = await factory.login(role="operator")
    response = await client.put(
        archive.base + "/bus_voltage/limits", json=BATTERY_LIMITS, headers=outsider
    )
    assert response.status_code == 404
    await put_limits(archive, BATTERY_LIMITS)
    viewer = await factory.login(archive.organisation, role="viewer")
    assert (
        await client.get(archive.base + "/bus_voltage/limits", headers=viewer)
    ).status_code == 200
    assert (
        await client.get(archive.base + "/bus_voltage/limits", headers=outsider)
    ).status_code == 404


async def test_editing_limits_needs_the_write_scope(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    archive = await make_archive(client, factory)
    viewer = await factory.login(archive.organisation, role="viewer")
    response = await client.put(
        archive.base + "/bus_voltage/limits", json=BATTERY_LIMITS, headers=viewer
    )
    assert response.status_code == 403
    # The denial is audited even though the path is longer than the object_id column.
    async with app.state.sessionmaker() as session:
        denied = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "auth.permission_denied")
            )
        ).scalar_one()
    assert denied.details["object_id"].endswith("/bus_voltage/limits")
    assert len(denied.object_id) == 64
