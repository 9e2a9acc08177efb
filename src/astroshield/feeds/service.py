"""Catalog refresh from a feed: fetch (no transaction open), import into the public
catalog history with the source recorded (the import emits ``catalog.refreshed``), then
run the post-import follow-ups with the catalog numbers that got new element sets, each in
a transaction of its own after the import's commit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx
import structlog
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield import __version__
from astroshield.catalog.models import Provenance
from astroshield.catalog.service import Origin, import_element_sets
from astroshield.config import Settings
from astroshield.db import session_scope, utcnow
from astroshield.feeds.celestrak import CelesTrakClient
from astroshield.feeds.errors import FeedError
from astroshield.feeds.http import RetryPolicy, Sleep
from astroshield.feeds.memory import QueryMemory
from astroshield.feeds.models import FeedRun
from astroshield.feeds.omm import ReadSets, read_sets
from astroshield.feeds.ratelimit import Clock
from astroshield.feeds.repository import FeedRepository
from astroshield.feeds.spacetrack import SpaceTrackClient

log = structlog.get_logger(__name__)

Source = Literal["celestrak", "spacetrack"]
Followup = Callable[[AsyncSession, Settings, Collection[str]], Awaitable[object]]
Progress = Callable[[str], None]
UPLOADED_BY = "feed"


@dataclass(frozen=True, slots=True)
class RefreshRequest:
    """CelesTrak: ``groups`` and/or ``catalog_numbers`` (default: the configured groups).
    Space-Track: ``catalog_numbers`` (default: every registered spacecraft's), the newest
    set of each (``gp``), or every set since ``history_since`` (``gp_history``)."""

    source: Source
    groups: Sequence[str] = ()
    catalog_numbers: Sequence[str] = ()
    history_since: str | None = None


@dataclass(slots=True)
class RefreshReport:
    fetched: int = 0
    inserted: int = 0
    already_present: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)
    requests: int = 0
    unchanged_queries: int = 0  # 304, or made within the interval and so not sent
    new_catalog_numbers: list[str] = field(default_factory=list)
    followup_errors: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Tools:
    """What the clients run on: tests inject a fake clock and sleep, or an HTTP client."""

    http: httpx.AsyncClient | None = None
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.feeds_retry_attempts, base_delay_s=settings.feeds_retry_base_s
    )


def new_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=settings.feeds_timeout_s,
        headers={"User-Agent": f"AstroShield/{__version__} (catalog feed)"},
        follow_redirects=True,
    )


def spacetrack_client(
    settings: Settings, http: httpx.AsyncClient, memory: QueryMemory, tools: Tools
) -> SpaceTrackClient:
    identity, password = settings.spacetrack_identity, settings.spacetrack_password
    return SpaceTrackClient(
        http,
        identity.get_secret_value() if identity else "",
        password or SecretStr(""),
        base_url=settings.spacetrack_url,
        batch_size=settings.spacetrack_batch_size,
        refresh_interval_s=settings.spacetrack_refresh_interval_s,
        policy=retry_policy(settings),
        memory=memory,
        clock=tools.clock,
        sleep=tools.sleep,
    )


# ------------------------------------------------------------------------ fetching


@dataclass(slots=True)
class _Fetched:
    by_source: dict[str, ReadSets] = field(default_factory=dict)
    requests: int = 0
    unchanged: int = 0
    error: str | None = None

    def add(self, source: str, read: ReadSets) -> None:
        self.by_source.setdefault(source, ReadSets()).extend(read)


async def _fetch_celestrak(
    settings: Settings,
    request: RefreshRequest,
    http: httpx.AsyncClient,
    memory: QueryMemory,
    tools: Tools,
    progress: Progress | None,
) -> _Fetched:
    client = CelesTrakClient(
        http,
        base_url=settings.celestrak_url,
        update_interval_s=settings.celestrak_update_interval_s,
        policy=retry_policy(settings),
        memory=memory,
        clock=tools.clock,
        sleep=tools.sleep,
    )
    fetched = _Fetched()
    groups = list(request.groups) or ([] if request.catalog_numbers else settings.celestrak_groups)
    queries = [("group", group) for group in groups]
    queries += [("catalog_number", number) for number in request.catalog_numbers]
    try:
        for kind, value in queries:
            if kind == "group":
                answer = await client.gp(group=value)
            else:
                answer = await client.gp(catalog_number=value)
            if progress is not None:
                progress(answer.query)
            if answer.text is None:
                fetched.unchanged += 1
                continue
            source = f"celestrak:{value}" if kind == "group" else "celestrak:catnr"
            fetched.add(source, read_sets(answer.text, answer.fmt, f"celestrak {answer.query}"))
    except FeedError as error:
        fetched.error = str(error)
    fetched.requests = client.requests_made
    return fetched


async def _fetch_spacetrack(
    settings: Settings,
    request: RefreshRequest,
    numbers: Sequence[str],
    http: httpx.AsyncClient,
    memory: QueryMemory,
    tools: Tools,
    progress: Progress | None,
) -> _Fetched:
    fetched = _Fetched()
    source = "space-track:gp_history" if request.history_since else "space-track:gp"
    client: SpaceTrackClient | None = None
    try:
        client = spacetrack_client(settings, http, memory, tools)
        async with client:
            batches = (
                client.gp_history(numbers, request.history_since)
                if request.history_since
                else client.gp(numbers)
            )
            async for batch in batches:
                if progress is not None:
                    progress(f"{len(batch.catalog_numbers)} objects")
                if batch.text is None:
                    fetched.unchanged += 1
                    continue
                fetched.add(source, read_sets(batch.text, "json", f"space-track {batch.query}"))
    except FeedError as error:
        fetched.error = str(error)
    fetched.requests = client.requests_made if client is not None else 0
    return fetched


# ------------------------------------------------------------------------ the refresh


async def refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    request: RefreshRequest,
    *,
    followups: Sequence[Followup] = (),
    tools: Tools | None = None,
    progress: Progress | None = None,
) -> RefreshReport:
    """Fetch, import what was fetched (also when the fetch stopped on an error: those
    queries were made and are not repeated within the interval), then the follow-ups."""
    tools = tools or Tools()
    prefix = "celestrak:" if request.source == "celestrak" else "space-track:"
    async with session_scope(sessionmaker) as session:
        repository = FeedRepository(session)
        memory = QueryMemory(await repository.queries(prefix))
        numbers = list(request.catalog_numbers)
        if request.source == "spacetrack" and not numbers:
            numbers = await repository.registered_catalog_numbers()
    http = tools.http or new_http_client(settings)
    try:
        if request.source == "celestrak":
            fetched = await _fetch_celestrak(settings, request, http, memory, tools, progress)
        else:
            fetched = await _fetch_spacetrack(
                settings, request, numbers, http, memory, tools, progress
            )
    finally:
        if tools.http is None:
            await http.aclose()
    report = RefreshReport(
        requests=fetched.requests, unchanged_queries=fetched.unchanged, error=fetched.error
    )
    new_numbers = await _import(sessionmaker, fetched, memory, report)
    report.new_catalog_numbers = sorted(new_numbers, key=int)
    if new_numbers:
        await run_followups(sessionmaker, settings, followups, new_numbers, report)
    return report


async def _import(
    sessionmaker: async_sessionmaker[AsyncSession],
    fetched: _Fetched,
    memory: QueryMemory,
    report: RefreshReport,
) -> set[str]:
    """One transaction: every fetched source's sets and the query memory. The catalog
    numbers whose sets were not in the public catalog before are the new ones."""
    origin = Origin.public(Provenance.FEED, UPLOADED_BY)
    new_numbers: set[str] = set()
    async with session_scope(sessionmaker) as session:
        repository = FeedRepository(session)
        await repository.save_queries({key: memory.records[key] for key in memory.changed})
        for source, read in fetched.by_source.items():
            report.fetched += len(read.sets) + read.skipped
            report.skipped += read.skipped
            report.reasons += read.reasons[: max(0, 5 - len(report.reasons))]
            if not read.sets:
                continue
            before = await repository.public_epochs({item.catalog_number for item in read.sets})
            result = await import_element_sets(session, read.sets, source, origin)
            report.inserted += result.inserted
            report.already_present += result.already_present
            report.skipped += len(result.rejected)
            new_numbers.update(
                item.catalog_number
                for item in read.sets
                if (item.catalog_number, item.epoch.timestamp()) not in before
            )
    return new_numbers


async def run_followups(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    followups: Sequence[Followup],
    catalog_numbers: Collection[str],
    report: RefreshReport,
) -> None:
    """Each follow-up in its own transaction; one failing does not stop the others (the
    import is committed either way)."""
    for followup in followups:
        name = getattr(followup, "__qualname__", repr(followup))
        try:
            async with session_scope(sessionmaker) as session:
                await followup(session, settings, catalog_numbers)
        except Exception as error:  # a follow-up's failure must not undo the refresh
            log.exception("feed_followup_failed", followup=name)
            report.followup_errors.append(f"{name}: {type(error).__name__}: {error}"[:300])


# ------------------------------------------------------------------------------ runs


async def start_run(
    sessionmaker: async_sessionmaker[AsyncSession], kind: str, source: str, trigger: str
) -> int:
    async with session_scope(sessionmaker) as session:
        run = await FeedRepository(session).add_run(
            FeedRun(kind=kind, source=source, trigger=trigger, status="running")
        )
        return run.id


async def finish_run(
    sessionmaker: async_sessionmaker[AsyncSession],
    run_id: int,
    report: RefreshReport | None,
    error: str | None,
) -> None:
    async with session_scope(sessionmaker) as session:
        run = await FeedRepository(session).get_run(run_id)
        if run is None:  # emptied meanwhile (tests); nothing to record
            return
        run.finished_at = utcnow()
        error = error or (report.error if report is not None else None)
        run.status = "failed" if error else "succeeded"
        run.error = error[:500] if error else None
        if report is not None:
            run.fetched, run.inserted = report.fetched, report.inserted
            run.already_present, run.skipped = report.already_present, report.skipped
            run.requests = report.requests


async def recorded_refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    request: RefreshRequest,
    *,
    trigger: str,
    followups: Sequence[Followup] = (),
    tools: Tools | None = None,
    progress: Progress | None = None,
) -> RefreshReport:
    """:func:`refresh` listed as a feed run (running, then succeeded or failed)."""
    run_id = await start_run(sessionmaker, "refresh", request.source, trigger)
    try:
        report = await refresh(
            sessionmaker, settings, request, followups=followups, tools=tools, progress=progress
        )
    except BaseException as error:  # cancelled at shutdown too: the run is not left running
        await finish_run(sessionmaker, run_id, None, f"{type(error).__name__}: {error}")
        raise
    await finish_run(sessionmaker, run_id, report, None)
    return report


async def list_runs(
    session: AsyncSession, *, before_id: int | None, limit: int
) -> Sequence[FeedRun]:
    return await FeedRepository(session).list_runs(before_id=before_id, limit=limit)
