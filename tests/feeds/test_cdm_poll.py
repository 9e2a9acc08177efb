"""Space-Track CDM poll: a red public CDM is ingested like an upload for the organisation
owning the spacecraft, and only for it; a re-poll ingests nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.alerts.models import Alert
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.feeds.cdm import poll_cdms
from astroshield.feeds.service import Tools
from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.conjunction.conftest import operator_with
from tests.feeds.providers import FakeClock, SpaceTrack, running
from tests.feeds.support import spacetrack_settings


def public_row(cdm_id: str, sat1: str, sat2: str, tca: datetime) -> dict[str, str]:
    """A cdm_public row as Space-Track writes it (every value a string)."""
    return {
        "CDM_ID": cdm_id,
        "CREATED": "2026-12-07 10:00:00.000000",
        "EMERGENCY_REPORTABLE": "Y",
        "TCA": tca.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "MIN_RNG": "45",
        "PC": "0.0001",
        "SAT_1_ID": sat1,
        "SAT_1_NAME": "OUR SAT",
        "SAT_2_ID": sat2,
        "SAT_2_NAME": "DEBRIS",
    }


async def test_red_cdm_reaches_the_owner_only_and_a_repoll_ingests_nothing(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await operator_with(factory, "44001")
    other = await operator_with(factory, "55001")
    now = datetime.now(UTC)
    tca = now + timedelta(days=2)
    message = omitron_cdm(
        primary="44001",
        secondary="44002",
        tca=tca,
        creation=now - timedelta(hours=1),
        message_id="SPACETRACK-900001",
        hbr_each_m=20.0,
    )
    clock = FakeClock(now.timestamp())
    provider = SpaceTrack(
        clock,
        cdms=[public_row("900001", "44001", "44002", tca), public_row("900002", "1", "2", tca)],
        cdm_messages={"900001": kvn(message).decode()},
    )
    dispatched: list[object] = []

    async def dispatch(notification: object) -> None:
        dispatched.append(notification)

    sessionmaker = app.state.sessionmaker
    async with running(provider) as base, httpx.AsyncClient() as http:
        configured = spacetrack_settings(settings, base, provider)
        tools = Tools(http, clock, clock.sleep)
        first = await poll_cdms(sessionmaker, configured, tools=tools, dispatch=dispatch)
        again = await poll_cdms(sessionmaker, configured, tools=tools, dispatch=dispatch)
        clock.now += configured.spacetrack_refresh_interval_s + 1
        later = await poll_cdms(sessionmaker, configured, tools=tools, dispatch=dispatch)

    assert first.error is None, first.error
    assert (first.listed, first.ingested, first.failed) == (1, 1, [])
    assert (again.requests, again.ingested) == (0, 0)  # nothing asked within the interval
    assert (later.listed, later.ingested, later.already_known) == (1, 0, 1)
    fetched = [entry.path for entry in provider.queries() if "/class/cdm/" in entry.path]
    assert fetched == ["/basicspacedata/query/class/cdm/CDM_ID/900001/format/kvn"]  # once

    mine = (await client.get("/api/v1/conjunctions", headers=owner.headers)).json()["items"]
    assert [(e["primary_catalog_number"], e["tier"]) for e in mine] == [("44001", "red")]
    theirs = await client.get("/api/v1/conjunctions", headers=other.headers)
    assert theirs.json()["items"] == []
    async with session_scope(sessionmaker) as session:
        alerts = (await session.scalars(select(Alert))).all()
    assert {alert.organisation_id for alert in alerts} == {owner.organisation.id}
    assert dispatched  # the red alert's notification went out after the commit


async def test_no_registered_spacecraft_no_request(app: FastAPI, settings: Settings) -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock)
    async with running(provider) as base:
        configured = spacetrack_settings(settings, base, provider)
        report = await poll_cdms(app.state.sessionmaker, configured)
    assert (report.listed, report.requests) == (0, 0) and provider.log == []
