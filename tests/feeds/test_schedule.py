"""The scheduled refresh: one replica at a time (a lease), listed as feed runs to platform
administrators only."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from fastapi import FastAPI

from astroshield.config import Settings
from astroshield.db import session_scope, utcnow
from astroshield.feeds.repository import FeedRepository
from astroshield.feeds.scheduler import (
    CATALOG_REFRESH,
    scheduled_refresh,
    start_feed_schedules,
    with_lease,
)
from tests.conftest import Factory
from tests.feeds.providers import CelesTrak, running, sample_rows
from tests.feeds.support import Recorder, feed_settings


async def test_one_holder_at_a_time_and_an_expired_lease_is_taken_over(app: FastAPI) -> None:
    sessionmaker = app.state.sessionmaker
    ran: list[str] = []
    inner: list[bool] = []

    async def second_replica() -> None:
        ran.append("a")
        inner.append(await with_lease(sessionmaker, "refresh", "b", 60, lambda: asyncio.sleep(0)))

    assert await with_lease(sessionmaker, "refresh", "a", 60, second_replica)
    assert ran == ["a"] and inner == [False]  # b was refused while a held it
    assert await with_lease(sessionmaker, "refresh", "b", 60, lambda: asyncio.sleep(0))

    now = utcnow()
    async with session_scope(sessionmaker) as session:  # a replica that died holding it
        assert await FeedRepository(session).claim_lease("refresh", "dead", now, now)
    async with session_scope(sessionmaker) as session:
        repository = FeedRepository(session)
        later = now + timedelta(seconds=1)
        assert await repository.claim_lease("refresh", "c", later, later + timedelta(60))


async def test_scheduled_refresh_runs_and_is_listed_to_platform_admins_only(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient, factory: Factory
) -> None:
    provider = CelesTrak(groups={"active&json": json.dumps(sample_rows()[:3])})
    recorder = Recorder()
    async with running(provider) as base:
        configured = feed_settings(settings, base, celestrak_groups=["active"])
        assert await scheduled_refresh(app.state.sessionmaker, configured, [recorder], "r1")
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
    assert await scheduled_refresh(app.state.sessionmaker, configured, [], "r1")
    admin = await factory.login(platform_admin=True, role="admin")
    (run,) = (await client.get("/api/v1/feeds/runs", headers=admin)).json()["items"]
    assert run["status"] == "failed" and "no answer" in run["error"]


async def test_schedules_are_off_at_zero_and_on_when_configured(
    app: FastAPI, settings: Settings
) -> None:
    assert start_feed_schedules(app.state.sessionmaker, settings, []) == {}
    on = settings.model_copy(
        update={"feeds_refresh_interval_s": 3600.0, "celestrak_url": "http://127.0.0.1:9"}
    )
    loops = start_feed_schedules(app.state.sessionmaker, on, [])
    assert list(loops) == [CATALOG_REFRESH]
    for task in loops.values():
        task.cancel()
    await asyncio.gather(*loops.values(), return_exceptions=True)
