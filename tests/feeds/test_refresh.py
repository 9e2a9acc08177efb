"""A refresh imports new element sets into the public catalog history with their source,
emits catalog.refreshed, hands the new catalog numbers to the follow-ups, and repeats no
identical query within the interval."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.catalog.service import public_object_detail
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.events.models import OutboxEvent
from astroshield.feeds.service import RefreshRequest, Tools, refresh
from tests.feeds.providers import CelesTrak, FakeClock, SpaceTrack, row_for, running, sample_rows
from tests.feeds.support import Recorder, feed_settings, spacetrack_settings


async def test_spacetrack_refresh_imports_new_sets_then_nothing_then_already_present(
    app: FastAPI, settings: Settings
) -> None:
    clock = FakeClock()
    provider = SpaceTrack(
        clock,
        gp={
            "25544": [row_for("25544")],
            "100001": [row_for("A0001")],  # Alpha-5 as written by the provider
            "100002": [{**row_for("100002"), "NORAD_CAT_ID": 100002}],  # a JSON number
            "26000": [row_for("26000", MEAN_MOTION="not a number")],
        },
    )
    recorder = Recorder()
    request = RefreshRequest("spacetrack", catalog_numbers=["25544", "100001", "100002", "26000"])
    sessionmaker = app.state.sessionmaker
    async with running(provider) as base, httpx.AsyncClient() as http:
        configured = spacetrack_settings(settings, base, provider)
        tools = Tools(http, clock, clock.sleep)
        first = await refresh(sessionmaker, configured, request, followups=[recorder], tools=tools)
        queries_after_first = len(provider.log)
        second = await refresh(sessionmaker, configured, request, followups=[recorder], tools=tools)
        queries_after_second = len(provider.log)
        clock.now += configured.spacetrack_refresh_interval_s + 1
        third = await refresh(sessionmaker, configured, request, followups=[recorder], tools=tools)

    assert (first.fetched, first.inserted, first.skipped) == (4, 3, 1)
    assert "MEAN_MOTION" in first.reasons[0]
    assert first.new_catalog_numbers == ["25544", "100001", "100002"]
    assert first.requests == 3  # login, one batch, logout
    assert [numbers for _, numbers in recorder.calls] == [["25544", "100001", "100002"]]
    assert recorder.calls[0][0] is configured

    # Identical refresh within the interval: no request at all, nothing inserted.
    assert queries_after_second == queries_after_first
    assert (second.requests, second.inserted, second.unchanged_queries) == (0, 0, 1)
    # After the interval the same sets come back: already present, no follow-up.
    assert (third.inserted, third.already_present, third.requests) == (0, 3, 3)
    assert len(recorder.calls) == 1

    async with session_scope(sessionmaker) as session:
        alpha5 = await public_object_detail(session, "100001")
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "catalog.refreshed")
            )
        ).all()
    assert alpha5.latest is not None
    assert (alpha5.latest.source, alpha5.latest.provenance) == ("space-track:gp", "feed")
    assert alpha5.catalog_object.catalog_number == "100001"
    first_event = events[0].envelope["data"]
    assert first_event["source"] == "space-track:gp" and first_event["inserted"] == 3


async def test_celestrak_refresh_by_group_records_the_group_as_source(
    app: FastAPI, settings: Settings
) -> None:
    rows = sample_rows()
    provider = CelesTrak(groups={"stations&json": json.dumps(rows)})
    recorder = Recorder()
    sessionmaker = app.state.sessionmaker
    async with running(provider) as base:
        configured = feed_settings(settings, base)
        request = RefreshRequest("celestrak", groups=["stations"])
        first = await refresh(sessionmaker, configured, request, followups=[recorder])
        second = await refresh(sessionmaker, configured, request, followups=[recorder])
    assert (first.inserted, first.skipped, first.requests) == (len(rows), 0, 1)
    assert len(recorder.calls[0][1]) == len(rows)
    assert (second.requests, second.inserted, second.unchanged_queries) == (0, 0, 1)
    assert len(provider.log) == 1  # once per update cycle, also across refreshes
    async with session_scope(sessionmaker) as session:
        vanguard = await public_object_detail(session, "5")
    assert vanguard.latest is not None and vanguard.latest.source == "celestrak:stations"


async def test_a_failing_followup_does_not_undo_the_import_nor_stop_the_others(
    app: FastAPI, settings: Settings
) -> None:
    provider = CelesTrak(groups={"stations&json": json.dumps(sample_rows()[:2])})
    recorder = Recorder()

    async def broken(*_: object) -> None:
        raise RuntimeError("detector down")

    async with running(provider) as base:
        configured = feed_settings(settings, base)
        report = await refresh(
            app.state.sessionmaker,
            configured,
            RefreshRequest("celestrak", groups=["stations"]),
            followups=[broken, recorder],
        )
    assert report.inserted == 2
    assert "detector down" in report.followup_errors[0]
    assert recorder.calls[0][1] == ["5", "11"]


async def test_a_fetch_error_keeps_what_was_fetched(app: FastAPI, settings: Settings) -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock, gp={"1": [row_for("1")], "11": [row_for("11")]})

    def after_each_batch(_: str) -> None:
        provider.inject.append("html")  # the next query gets an error page

    async with running(provider) as base, httpx.AsyncClient() as http:
        configured = spacetrack_settings(settings, base, provider).model_copy(
            update={"spacetrack_batch_size": 1}
        )
        report = await refresh(
            app.state.sessionmaker,
            configured,
            RefreshRequest("spacetrack", catalog_numbers=["1", "11"]),
            tools=Tools(http, clock, clock.sleep),
            progress=after_each_batch,
        )
    assert report.error is not None and "HTML page" in report.error
    assert "correct horse" not in report.error
    assert (report.inserted, report.new_catalog_numbers) == (1, ["1"])
