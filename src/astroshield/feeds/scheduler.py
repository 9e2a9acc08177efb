"""The scheduled catalog refresh and CDM poll: every interval each replica tries to take
the schedule's lease (a row in ``feed_leases``, taken in a short transaction of its own);
the one that holds it runs, the others wait for the next interval. A replica that dies
holding it gives it up after ``feeds_lease_s``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.config import Settings
from astroshield.db import session_scope, utcnow
from astroshield.feeds.cdm import Dispatch, finish_cdm_run, poll_cdms
from astroshield.feeds.repository import FeedRepository
from astroshield.feeds.service import Followup, RefreshRequest, recorded_refresh, start_run

log = structlog.get_logger(__name__)

CATALOG_REFRESH = "feeds_catalog_refresh"
CDM_POLL = "feeds_cdm_poll"


async def with_lease(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    holder: str,
    lease_s: float,
    work: Callable[[], Awaitable[object]],
) -> bool:
    """Run ``work`` if this holder gets the lease ``name``; whether it ran."""
    now = utcnow()
    async with session_scope(sessionmaker) as session:
        taken = await FeedRepository(session).claim_lease(
            name, holder, now, now + timedelta(seconds=lease_s)
        )
    if not taken:
        return False
    try:
        await work()
    finally:
        async with session_scope(sessionmaker) as session:
            await FeedRepository(session).release_lease(name, holder)
    return True


async def scheduled_refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    followups: Sequence[Followup],
    holder: str,
) -> bool:
    async def work() -> None:
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

    return await with_lease(sessionmaker, "refresh", holder, settings.feeds_lease_s, work)


async def scheduled_cdm_poll(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    holder: str,
    dispatch: Dispatch | None = None,
) -> bool:
    async def work() -> None:
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

    return await with_lease(sessionmaker, "cdm_poll", holder, settings.feeds_lease_s, work)


async def _every(interval_s: float, name: str, once: Callable[[], Awaitable[object]]) -> None:
    # First run one interval after start, like the other schedules: a restarting fleet
    # does not fetch all at once, and the lease keeps it to one replica anyway.
    while True:
        await asyncio.sleep(interval_s)
        try:
            await once()
        except Exception:  # a failed run must not end the schedule
            log.exception("feed_schedule_failed", schedule=name)


def start_feed_schedules(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    followups: Sequence[Followup],
    dispatch: Dispatch | None = None,
) -> dict[str, asyncio.Task[None]]:
    """The schedules these settings turn on, by component name (the lifespan cancels them)."""
    holder = f"feeds-{uuid.uuid4().hex[:12]}"
    loops: dict[str, asyncio.Task[None]] = {}
    if settings.feeds_refresh_interval_s > 0:
        loops[CATALOG_REFRESH] = asyncio.create_task(
            _every(
                settings.feeds_refresh_interval_s,
                CATALOG_REFRESH,
                lambda: scheduled_refresh(sessionmaker, settings, followups, holder),
            )
        )
    if settings.feeds_cdm_poll_interval_s > 0:
        loops[CDM_POLL] = asyncio.create_task(
            _every(
                settings.feeds_cdm_poll_interval_s,
                CDM_POLL,
                lambda: scheduled_cdm_poll(sessionmaker, settings, holder, dispatch),
            )
        )
    return loops
