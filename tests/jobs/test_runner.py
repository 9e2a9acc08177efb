"""Jobs run once however many runners (replicas) try, survive a runner that dies, retry a
failure with backoff up to a limit, and leave a record administrators can read."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.jobs.models import Job
from astroshield.jobs.service import JobRunner, period_key
from tests.conftest import Factory


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def runner(app: FastAPI, clock: Clock | None = None, **options: Any) -> JobRunner:
    if clock is not None:
        options["clock"] = clock
    return JobRunner(app.state.sessionmaker, **options)


async def job_rows(app: FastAPI, kind: str) -> list[Job]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(Job).where(Job.kind == kind))).scalars())


async def test_two_runners_starting_the_same_job_run_it_once(app: FastAPI) -> None:
    calls = 0
    started = asyncio.Event()

    async def work() -> Mapping[str, Any]:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.sleep(0.2)  # the other runner arrives while this one works
        return {"deleted": 7}

    first, second = runner(app), runner(app)
    outcomes = await asyncio.gather(
        first.run("test.once", "13:00", work), second.run("test.once", "13:00", work)
    )
    assert calls == 1
    assert sorted(outcome.ran for outcome in outcomes) == [False, True]
    [row] = await job_rows(app, "test.once")
    assert (row.status, row.attempts, row.result) == ("succeeded", 1, {"deleted": 7})
    # Done is done: the same period asked again later runs nothing.
    again = await second.run("test.once", "13:00", work)
    assert (again.ran, again.status, calls) == (False, "succeeded", 1)


async def test_a_failed_job_is_retried_with_backoff_up_to_its_attempts(app: FastAPI) -> None:
    clock = Clock()
    failing = runner(app, clock, max_attempts=2, retry_delay_s=60)
    attempts = 0

    async def work() -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError(f"catalog unreachable (attempt {attempts})")

    first = await failing.run("test.retry", "k", work)
    assert (first.ran, first.status) == (True, "failed")
    assert first.error == "RuntimeError: catalog unreachable (attempt 1)"
    clock.now += timedelta(seconds=30)  # before the backoff: not yet
    assert (await failing.run("test.retry", "k", work)).ran is False
    clock.now += timedelta(seconds=31)
    second = await failing.run("test.retry", "k", work)
    assert (second.ran, second.status, attempts) == (True, "failed", 2)
    clock.now += timedelta(days=1)  # attempts spent: it stays failed
    assert (await failing.run("test.retry", "k", work)).ran is False
    [row] = await job_rows(app, "test.retry")
    assert (row.status, row.attempts, row.max_attempts) == ("failed", 2, 2)
    assert row.last_error == "RuntimeError: catalog unreachable (attempt 2)"


async def test_a_job_whose_runner_died_is_taken_over_when_its_lease_runs_out(
    app: FastAPI,
) -> None:
    clock = Clock()
    dying = runner(app, clock, lease_s=30)
    survivor = runner(app, clock, lease_s=30)
    entered = asyncio.Event()

    async def hangs() -> None:
        entered.set()
        await asyncio.Event().wait()  # until the process "dies" (the task is cancelled)

    task = asyncio.create_task(dying.run("test.takeover", "k", hangs))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def work() -> Mapping[str, Any]:
        return {"ok": True}

    assert (await survivor.run("test.takeover", "k", work)).ran is False  # lease still held
    clock.now += timedelta(seconds=31)
    taken = await survivor.run("test.takeover", "k", work)
    assert (taken.ran, taken.status) == (True, "succeeded")
    [row] = await job_rows(app, "test.takeover")
    assert (row.attempts, row.claimed_by) == (2, survivor.owner)


def test_period_keys_name_the_period_a_moment_falls_in() -> None:
    moment = datetime(2026, 12, 7, 13, 7, 42, tzinfo=UTC)
    assert period_key(moment, 3600) == "2026-12-07T13:00:00+00:00"
    assert period_key(moment, 300) == "2026-12-07T13:05:00+00:00"
    assert period_key(moment + timedelta(minutes=53), 3600) == "2026-12-07T14:00:00+00:00"


async def test_administrators_read_their_own_jobs_and_no_one_elses(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    mine, theirs = await factory.organisation(), await factory.organisation()

    async def work() -> Mapping[str, Any]:
        return {"screened": 3}

    jobs = runner(app)
    own = await jobs.run("test.visible", "mine", work, organisation_id=mine.id)
    other = await jobs.run("test.visible", "theirs", work, organisation_id=theirs.id)
    platform = await jobs.run("test.visible", "platform", work)
    admin = await factory.login(mine, role="admin")

    listed = await client.get("/api/v1/jobs", params={"kind": "test.visible"}, headers=admin)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [str(own.job_id)]
    assert listed.json()["items"][0]["result"] == {"screened": 3}
    for hidden in (other.job_id, platform.job_id):
        response = await client.get(f"/api/v1/jobs/{hidden}", headers=admin)
        assert response.status_code == 404
    refused = await client.get("/api/v1/jobs", params={"stream": "platform"}, headers=admin)
    assert refused.status_code == 403
    viewer = await factory.login(mine, role="viewer")
    assert (await client.get("/api/v1/jobs", headers=viewer)).status_code == 403

    root = await factory.login(platform_admin=True)
    platform_list = await client.get(
        "/api/v1/jobs", params={"stream": "platform", "kind": "test.visible"}, headers=root
    )
    assert [item["id"] for item in platform_list.json()["items"]] == [str(platform.job_id)]
    failed_only = await client.get(
        "/api/v1/jobs", params={"stream": "platform", "status": "failed"}, headers=root
    )
    assert failed_only.json()["items"] == []
    bad = await client.get("/api/v1/jobs", params={"status": "exploded"}, headers=admin)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
