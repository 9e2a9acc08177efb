"""Space-Track CDM poll: the public CDMs (``cdm_public``) of every registered spacecraft,
routed to the organisations owning the primary or the secondary, each fetched as CCSDS KVN
(class ``cdm``) and ingested through the CDM intake exactly like an upload, so a red event
raises its alert. De-duplicated by CDM_ID per organisation: a re-poll ingests nothing new."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.notifiers import Notification
from astroshield.audit.service import Actor
from astroshield.config import Settings
from astroshield.conjunction.service.intake import ingest_cdm
from astroshield.db import session_scope, utcnow
from astroshield.errors import DomainError
from astroshield.feeds.errors import FeedError
from astroshield.feeds.memory import QueryMemory
from astroshield.feeds.repository import FeedRepository
from astroshield.feeds.service import Tools, new_http_client, spacetrack_client
from astroshield.security.principal import Principal

log = structlog.get_logger(__name__)

Dispatch = Callable[[Notification], Awaitable[None]]
SOURCE = "space-track"
SIDES = ("SAT_1_ID", "SAT_2_ID")


@dataclass(slots=True)
class CdmPollReport:
    listed: int = 0  # public CDMs of registered spacecraft
    ingested: int = 0  # (CDM, organisation) pairs stored now
    already_known: int = 0
    failed: list[str] = field(default_factory=list)
    requests: int = 0
    error: str | None = None


@dataclass(slots=True)
class _Listed:
    """CDM_ID -> the two catalog numbers, from the public summaries."""

    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)


def feed_principal(organisation_id: uuid.UUID) -> Principal:
    """The feed acting for one organisation in the intake (no user, no scopes)."""
    return Principal(
        user_id=uuid.UUID(int=0),
        organisation_id=organisation_id,
        role="feed",
        scopes=frozenset(),
        token_id="feed",  # noqa: S106 - not a token: the feed acts without one
        token_expires_at=datetime.now(UTC),
        auth_method="bearer",
    )


async def poll_cdms(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    tools: Tools | None = None,
    dispatch: Dispatch | None = None,
) -> CdmPollReport:
    tools = tools or Tools()
    report = CdmPollReport()
    async with session_scope(sessionmaker) as session:
        repository = FeedRepository(session)
        memory = QueryMemory(await repository.queries("space-track:"))
        numbers = await repository.registered_catalog_numbers()
    if not numbers:
        return report
    http = tools.http or new_http_client(settings)
    try:
        await _poll(sessionmaker, settings, numbers, http, memory, tools, report, dispatch)
    finally:
        if tools.http is None:
            await http.aclose()
        async with session_scope(sessionmaker) as session:
            changed = {key: memory.records[key] for key in memory.changed}
            await FeedRepository(session).save_queries(changed)
    return report


async def _poll(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    numbers: list[str],
    http: httpx.AsyncClient,
    memory: QueryMemory,
    tools: Tools,
    report: CdmPollReport,
    dispatch: Dispatch | None,
) -> None:
    client = None
    try:
        client = spacetrack_client(settings, http, memory, tools)
        async with client:
            listed = _Listed()
            for side in SIDES:
                async for batch in client.cdm_public(numbers, side):
                    for row in batch.rows():
                        cdm_id = str(row.get("CDM_ID", "")).strip()
                        if cdm_id:
                            listed.pairs[cdm_id] = (str(row["SAT_1_ID"]), str(row["SAT_2_ID"]))
            report.listed = len(listed.pairs)
            wanted = await _unknown(sessionmaker, listed, report)
            for cdm_id, organisations in sorted(wanted.items()):
                text = await client.cdm_message(cdm_id)
                if text is None:
                    continue
                for organisation_id in sorted(organisations):
                    await _ingest(
                        sessionmaker, settings, organisation_id, cdm_id, text, report, dispatch
                    )
    except FeedError as error:
        report.error = str(error)
    report.requests = client.requests_made if client is not None else 0


async def _unknown(
    sessionmaker: async_sessionmaker[AsyncSession], listed: _Listed, report: CdmPollReport
) -> dict[str, set[uuid.UUID]]:
    """Per CDM not ingested yet, the organisations owning either object."""
    numbers = {number for pair in listed.pairs.values() for number in pair}
    wanted: dict[str, set[uuid.UUID]] = {}
    async with session_scope(sessionmaker) as session:
        repository = FeedRepository(session)
        owners = await repository.owners(numbers)
        for cdm_id, pair in listed.pairs.items():
            organisations = owners.get(pair[0], set()) | owners.get(pair[1], set())
            for organisation_id in organisations:
                if await repository.known_cdm_ids(organisation_id, [cdm_id]):
                    report.already_known += 1
                else:
                    wanted.setdefault(cdm_id, set()).add(organisation_id)
    return wanted


async def _ingest(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    organisation_id: uuid.UUID,
    cdm_id: str,
    text: str,
    report: CdmPollReport,
    dispatch: Dispatch | None,
) -> None:
    """One CDM for one organisation in its own transaction, with its CDM_ID recorded; the
    alert notifications go out after the commit, as for an upload."""
    actor = Actor(user_id=f"feed:{SOURCE}", organisation_id=organisation_id)
    try:
        async with session_scope(sessionmaker) as session:
            upload = await ingest_cdm(
                session,
                feed_principal(organisation_id),
                settings,
                text.encode(),
                "text/plain",
                actor=actor,
                source=SOURCE,
            )
            FeedRepository(session).add_cdm_id(organisation_id, cdm_id)
    except DomainError as error:  # a CDM the intake refuses: reported, tried again next poll
        report.failed.append(f"CDM {cdm_id}: {error}"[:300])
        log.warning("feed_cdm_refused", cdm_id=cdm_id, error=str(error)[:300])
        return
    report.ingested += 1
    if dispatch is not None:
        for notification in upload.notifications:
            await dispatch(notification)


async def finish_cdm_run(
    sessionmaker: async_sessionmaker[AsyncSession], run_id: int, report: CdmPollReport
) -> None:
    """The poll as a feed run: fetched = CDMs listed, inserted = CDMs ingested."""
    error = report.error or ("; ".join(report.failed[:3]) if report.failed else None)
    async with session_scope(sessionmaker) as session:
        run = await FeedRepository(session).get_run(run_id)
        if run is None:
            return
        run.finished_at = utcnow()
        run.status = "failed" if error else "succeeded"
        run.error = error[:500] if error else None
        run.fetched, run.inserted = report.listed, report.ingested
        run.already_present, run.skipped = report.already_known, len(report.failed)
        run.requests = report.requests
