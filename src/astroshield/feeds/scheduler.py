"""The scheduled catalog refresh and CDM poll: every interval each replica wakes up and
asks the job runner for the period's job (``feeds.refresh`` / ``feeds.cdm_poll`` keyed by
the period); the replica that claims it runs it, the others skip, and a replica that dies
running it is taken over when its lease runs out (src/astroshield/jobs)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.config import Settings
from astroshield.db import utcnow
from astroshield.feeds.cdm import Dispatch, finish_cdm_run, poll_cdms
from astroshield.feeds.service import Followup, RefreshRequest, recorded_refresh, start_run
from astroshield.jobs.service import JobRunner, every, period_key

log = structlog.get_logger(__name__)

CATALOG_REFRESH = "feeds_catalog_refresh"
CDM_POLL = "feeds_cdm_poll"


async def scheduled_refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    followups: Sequence[Followup],
    runner: JobRunner,
) -> bool:
    """Run this period's refresh unless another replica has; whether this one ran it."""

    async def work() -> Mapping[str, Any]:
        request = RefreshRequest(settings.feeds_refresh_source)
        report = await recorded_refresh(
            sessionmaker, settings, request, trigger="schedule", followups=followups
        )
        log.info(
            "feed_refresh",
            source=request.source,
            inserted=report.inserted,
            skipped=report.skipped,
            requests=report.requests,
            error=report.error,
        )
        return {"inserted": report.inserted, "requests": report.requests, "error": report.error}

    key = period_key(utcnow(), settings.feeds_refresh_interval_s)
    return (await runner.run("feeds.refresh", key, work)).ran


async def scheduled_cdm_poll(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    runner: JobRunner,
    dispatch: Dispatch | None = None,
) -> bool:
    """Run this period's CDM poll unless another replica has; whether this one ran it."""

    async def work() -> Mapping[str, Any]:
        run_id = await start_run(sessionmaker, "cdm_poll", "spacetrack", "schedule")
        report = await poll_cdms(sessionmaker, settings, dispatch=dispatch)
        await finish_cdm_run(sessionmaker, run_id, report)
        log.info(
            "feed_cdm_poll",
            listed=report.listed,
            ingested=report.ingested,
            failed=len(report.failed),
            error=report.error,
        )
        return {"listed": report.listed, "ingested": report.ingested, "error": report.error}

    key = period_key(utcnow(), settings.feeds_cdm_poll_interval_s)
    return (await runner.run("feeds.cdm_poll", key, work)).ran


def start_feed_schedules(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    followups: Sequence[Followup],
    runner: JobRunner,
    dispatch: Dispatch | None = None,
) -> dict[str, asyncio.Task[None]]:
    """The schedules these settings turn on, by component name (the lifespan cancels them)."""
    loops: dict[str, asyncio.Task[None]] = {}
    if settings.feeds_refresh_interval_s > 0:
        loops[CATALOG_REFRESH] = asyncio.create_task(
            every(
                lambda: settings.feeds_refresh_interval_s,
                CATALOG_REFRESH,
                lambda: scheduled_refresh(sessionmaker, settings, followups, runner),
            )
        )
    if settings.feeds_cdm_poll_interval_s > 0:
        loops[CDM_POLL] = asyncio.create_task(
            every(
                lambda: settings.feeds_cdm_poll_interval_s,
                CDM_POLL,
                lambda: scheduled_cdm_poll(sessionmaker, settings, runner, dispatch),
            )
        )
    return loops
