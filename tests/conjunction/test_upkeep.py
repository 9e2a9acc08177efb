"""Upkeep without a request: events whose TCA has passed are closed (and their alert
resolved) by the periodic step, and screenings a previous process left unfinished are
failed at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.conjunction.models import ConjunctionScreening, ScreeningStatus
from astroshield.conjunction.service.screening_jobs import INTERRUPTED_BY_RESTART
from astroshield.db import session_scope
from astroshield.retention.service import RetentionReport, run_retention
from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.conjunction.conftest import Operator, operator_with, upload

PRIMARY = "46001"
PERIODIC_CLASS = "conjunction_events_past_tca"


async def _red_event(
    client: httpx.AsyncClient, me: Operator, secondary: str, tca: datetime, now: datetime
) -> str:
    message = omitron_cdm(
        primary=PRIMARY,
        secondary=secondary,
        tca=tca,
        creation=now - timedelta(hours=1),
        message_id=f"UPKEEP-{secondary}",
        hbr_each_m=20.0,
    )
    response = await upload(client, kvn(message), me.headers)
    assert response.status_code == 201, response.text
    event = response.json()["event"]
    assert (event["tier"], event["state"]) == ("red", "open")
    return str(event["id"])


async def _retention(app: FastAPI, now: datetime, *, dry_run: bool) -> RetentionReport:
    async with session_scope(app.state.sessionmaker) as session:
        return await run_retention(session, app.state.settings, dry_run=dry_run, now=now)


async def _states(client: httpx.AsyncClient, me: Operator) -> dict[str, tuple[str, str]]:
    """(event state, its alert's status) by event id."""
    events = (await client.get("/api/v1/conjunctions", headers=me.headers)).json()["items"]
    alerts = (
        await client.get("/api/v1/alerts", params={"rule": "conjunction-pc"}, headers=me.headers)
    ).json()["items"]
    alert_status = {alert["labels"]["event_id"]: alert["status"] for alert in alerts}
    return {event["id"]: (event["state"], alert_status[event["id"]]) for event in events}


async def test_passed_events_are_closed_and_their_alert_resolved(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, PRIMARY)
    now = datetime.now(UTC)
    passing = await _red_event(client, me, "46002", now + timedelta(days=1), now)
    ahead = await _red_event(client, me, "46003", now + timedelta(days=3), now)
    later = now + timedelta(days=2)

    dry = await _retention(app, later, dry_run=True)
    assert {r.data_class: r.affected for r in dry.classes}[PERIODIC_CLASS] == 1
    assert dry.notifications == []
    assert await _states(client, me) == {passing: ("open", "firing"), ahead: ("open", "firing")}

    report = await _retention(app, later, dry_run=False)
    assert {r.data_class: r.affected for r in report.classes}[PERIODIC_CLASS] == 1
    (resolved,) = report.notifications  # handed to the dispatcher after the commit
    assert (resolved.change, resolved.labels["event_id"]) == ("resolved", passing)
    assert await _states(client, me) == {
        passing: ("closed", "resolved"),
        ahead: ("open", "firing"),
    }

    again = await _retention(app, later, dry_run=False)
    assert {r.data_class: r.affected for r in again.classes}[PERIODIC_CLASS] == 0
    assert again.notifications == []


async def test_start_up_fails_the_screenings_a_previous_process_left(
    app: FastAPI, factory: Factory, settings: Settings
) -> None:
    me = await operator_with(factory, PRIMARY)
    statuses = [ScreeningStatus.QUEUED, ScreeningStatus.RUNNING, ScreeningStatus.SUCCEEDED]
    async with session_scope(app.state.sessionmaker) as session:
        for status in statuses:
            session.add(
                ConjunctionScreening(
                    organisation_id=me.organisation.id,
                    spacecraft_id=me.spacecraft.id,
                    catalog_number=PRIMARY,
                    start=datetime.now(UTC),
                    days=1.0,
                    threshold_km=5.0,
                    status=status.value,
                    results=[],
                )
            )

    restarted = create_app(settings)
    async with restarted.router.lifespan_context(restarted):
        pass

    async with session_scope(app.state.sessionmaker) as session:
        rows = (await session.execute(select(ConjunctionScreening))).scalars().all()
    after = sorted((row.status, row.error, row.finished_at is not None) for row in rows)
    assert after == [
        ("failed", INTERRUPTED_BY_RESTART, True),
        ("failed", INTERRUPTED_BY_RESTART, True),
        ("succeeded", None, False),
    ]
