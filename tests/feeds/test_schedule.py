"""The scheduled refresh: once per period across replicas (a job), listed as feed runs to platform
administrators only."""

from __future__ import annotations

import asyncio
import json

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.config import Settings
from astroshield.feeds.scheduler import CATALOG_REFRESH, scheduled_refresh, start_feed_schedules
from astroshield.jobs.models import Job
from astroshield.jobs.service import JobRunner
from tests.conftest import Factory
from tests.feeds.providers import CelesTrak, running, sample_rows
from tests.feeds.support import Recorder, feed_settings


def runner(app: FastAPI) -> JobRunner:
    """A replica's job runner: each call is another replica."""
    return JobRunner(app.state.sessionmaker)


async def test_two_replicas_waking_for_the_same_period_refresh_once(
    app: FastAPI, settings: Settings
) -> None:
    provider = CelesTrak(groups={"active&json": json.dumps(sample_rows()[:3])})
    first, second = Recorder(), Recorder()
    async with running(provider) as base:
        configured = feed_settings(
            settings, base, celestrak_groups=["active"], feeds_refresh_interval_s=3600.0
        )
        ran = await asyncio.gather(
            scheduled_refresh(app.state.sessionmaker, configured, [first], runner(app)),
            scheduled_refresh(app.state.sessionmaker, configured, [second], runner(app)),
        )
    assert sorted(ran) == [False, True]
    assert len(first.calls) + len(second.calls) == 1
    assert len(provider.log) == 1
    async with app.state.sessionmaker() as session:
        (job,) = (await session.execute(select(Job).where(Job.kind == "feeds.refresh"))).scalars()
    assert (job.status, job.result["inserted"]) == ("succeeded", 3)


async def test_scheduled_refresh_runs_and_is_listed_to_platform_admins_only(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient, factory: Factory
) -> None:
    provider = CelesTrak(groups={"active&json": json.dumps(sample_rows()[:3])})
    recorder = Recorder()
    async with running(provider) as base:
        configured = feed_settings(settings, base, celestrak_groups=["active"])
        assert await scheduled_refresh(app.state.sessionmaker, configured, [recorder], runner(app))
    assert recorder.calls[0][1] == ["5", "11", "12"]

    admin = await factory.login(platform_admin=True, role="admin")
    response = await client.get("/api/v1/feeds/runs", headers=admin)
    assert response.status_code == 200, response.text
    (run,) = response.json()["items"]
    assert run["kind"] == "refresh" and run["trigger"] == "schedule"
    assert (run["status"], run["inserted"], run["requests"]) == ("succeeded", 3, 1)

    for role in ("admin", "operator", "viewer"):  # any organisation's own staff
        forbidden = await client.get("/api/v1/feeds/runs", headers=await factory.login(role=role))
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"].startswith("application/problem+json")


async def test_a_failed_run_is_listed_with_its_error(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient, factory: Factory
) -> None:
    from tests.support.servers import free_port

    configured = feed_settings(settings, f"http://127.0.0.1:{free_port()}", feeds_retry_attempts=1)
    assert await scheduled_refresh(app.state.sessionmaker, configured, [], runner(app))
    admin = await factory.login(platform_admin=True, role="admin")
    (run,) = (await client.get("/api/v1/feeds/runs", headers=admin)).json()["items"]
    assert run["status"] == "failed" and "no answer" in run["error"]


async def test_schedules_are_off_at_zero_and_on_when_configured(
    app: FastAPI, settings: Settings
) -> None:
    assert start_feed_schedules(app.state.sessionmaker, settings, [], runner(app)) == {}
    on = settings.model_copy(
        update={"feeds_refresh_interval_s": 3600.0, "celestrak_url": "http://127.0.0.1:9"}
    )
    loops = start_feed_schedules(app.state.sessionmaker, on, [], runner(app))
    assert list(loops) == [CATALOG_REFRESH]
    for task in loops.values():
        task.cancel()
    await asyncio.gather(*loops.values(), return_exceptions=True)
