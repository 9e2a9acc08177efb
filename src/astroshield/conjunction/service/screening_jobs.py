"""Screening jobs: a one-vs-all screening of a spacecraft against the catalog, requested by
a user and run in the background; its outcome is stored on its row whatever happens."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.astro.conjunction import risk
from astroshield.astro.conjunction.screening import ConjunctionEvent as Found
from astroshield.astro.conjunction.screening import ScreeningResult, screen_catalog
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.audit.service import Actor, record
from astroshield.catalog.service import latest_element_sets, to_element_set
from astroshield.config import Settings
from astroshield.conjunction.models import (
    ConjunctionEvent,
    ConjunctionScreening,
    EventSource,
    EventStatus,
    ScreeningStatus,
)
from astroshield.conjunction.repository import ConjunctionRepository, UpkeepRepository
from astroshield.conjunction.schemas import ScreeningCreate
from astroshield.conjunction.service.intake import tca_key
from astroshield.db import session_scope
from astroshield.errors import FieldError, InvalidInputError, NotFoundError
from astroshield.events.service import emit
from astroshield.observability.domain_metrics import (
    CONJUNCTION_EVENTS,
    SCREENING_RUNS,
    count_after_commit,
)
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.spacecraft.service import get_spacecraft

log = structlog.get_logger(__name__)

INTERRUPTED_BY_RESTART = "interrupted by a restart"


def _check_limits(data: ScreeningCreate, settings: Settings) -> None:
    if data.days > settings.conjunction_screening_max_days:
        raise InvalidInputError(
            f"days must be at most {settings.conjunction_screening_max_days:g}",
            errors=[
                FieldError(
                    ["body", "days"], f"must be <= {settings.conjunction_screening_max_days:g}"
                )
            ],
        )
    if data.threshold_km > settings.conjunction_screening_max_threshold_km:
        limit = settings.conjunction_screening_max_threshold_km
        raise InvalidInputError(
            f"threshold_km must be at most {limit:g}",
            errors=[FieldError(["body", "threshold_km"], f"must be <= {limit:g}")],
        )


async def request_screening(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    data: ScreeningCreate,
    *,
    actor: Actor,
) -> ConjunctionScreening:
    """A queued screening of the spacecraft; the caller starts :func:`run_screening` once
    the row is committed."""
    _check_limits(data, settings)
    spacecraft = await get_spacecraft(session, principal.organisation_id, data.spacecraft_id)
    if spacecraft.catalog_number is None:
        raise InvalidInputError(
            "the spacecraft has no catalog number to screen",
            errors=[FieldError(["body", "spacecraft_id"], "spacecraft has no catalog_number")],
        )
    repository = ConjunctionRepository(session, principal.organisation_id)
    screening = await repository.add_screening(
        ConjunctionScreening(
            organisation_id=principal.organisation_id,
            spacecraft_id=spacecraft.id,
            catalog_number=spacecraft.catalog_number,
            start=data.start.astimezone(UTC),
            days=data.days,
            threshold_km=data.threshold_km,
            status=ScreeningStatus.QUEUED.value,
            results=[],
            requested_by=actor.user_id,
        )
    )
    await record(
        session,
        actor.event(
            "conjunction.screening_requested",
            object_type="conjunction_screening",
            object_id=screening.id,
            spacecraft_id=str(spacecraft.id),
        ),
    )
    return screening


async def _screening_or_404(
    repository: ConjunctionRepository, screening_id: uuid.UUID
) -> ConjunctionScreening:
    screening = await repository.get_screening(screening_id)
    if screening is None:
        raise NotFoundError(f"screening {screening_id} not found")
    return screening


async def get_screening(
    session: AsyncSession, principal: Principal, screening_id: uuid.UUID
) -> ConjunctionScreening:
    repository = ConjunctionRepository(session, principal.organisation_id)
    return await _screening_or_404(repository, screening_id)


@dataclass(frozen=True, slots=True)
class _Work:
    """What a screening needs from the database, read before the long computation."""

    elements: list[ElementSet]
    primary: str
    start: datetime
    days: float
    threshold_km: float


@span("screening.load_catalog")
async def _start(
    sessionmaker: async_sessionmaker[AsyncSession],
    organisation_id: uuid.UUID,
    screening_id: uuid.UUID,
) -> _Work:
    """Mark the screening running and read the catalog as the organisation sees it (public
    sets and its own overlay), newest element set per object."""
    async with session_scope(sessionmaker) as session:
        repository = ConjunctionRepository(session, organisation_id)
        screening = await _screening_or_404(repository, screening_id)
        screening.status = ScreeningStatus.RUNNING.value
        screening.started_at = datetime.now(UTC)
        elements = [
            to_element_set(record) for record in await latest_element_sets(session, organisation_id)
        ]
        annotate(objects=len(elements))
        return _Work(
            elements,
            screening.catalog_number,
            screening.start,
            screening.days,
            screening.threshold_km,
        )


def _hit(event: ConjunctionEvent, found: Found) -> dict[str, Any]:
    return {
        "event_id": str(event.id),
        "secondary_catalog_number": found.object2,
        "tca": found.tca.isoformat(),
        "miss_distance_km": found.miss_distance_km,
        "relative_speed_km_s": found.relative_speed_km_s,
        "tier": event.tier,
        "edge": found.edge,
    }


async def _store_screening_events(
    repository: ConjunctionRepository,
    screening: ConjunctionScreening,
    result: ScreeningResult,
    names: dict[str, str | None],
    window_s: float,
    now: datetime,
) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    window = timedelta(seconds=window_s)
    for found in result.events:
        assessment = risk.assess(
            tca=found.tca, now=now, miss_distance_km=found.miss_distance_km, pc=None
        )
        event = await repository.find_event(found.object1, found.object2, found.tca, window)
        if event is None:
            event = await repository.add_event(
                ConjunctionEvent(
                    organisation_id=repository.organisation_id,
                    spacecraft_id=screening.spacecraft_id,
                    primary_catalog_number=found.object1,
                    secondary_catalog_number=found.object2,
                    secondary_name=names.get(found.object2),
                    tca=found.tca,
                    tca_key=tca_key(found.tca, window_s),
                    miss_distance_m=found.miss_distance_km * 1e3,
                    relative_speed_m_s=found.relative_speed_km_s * 1e3,
                    tier=assessment.tier.value,
                    tier_basis=assessment.basis,
                    status=(EventStatus.OPEN if found.tca >= now else EventStatus.CLOSED).value,
                    source=EventSource.SCREENING.value,
                    window_edge=found.edge,
                )
            )
        elif event.pc is None:
            # A Pc from a CDM outranks a catalog miss distance; without one, the newer
            # screening is the better estimate.
            event.tca = found.tca
            event.miss_distance_m = found.miss_distance_km * 1e3
            event.relative_speed_m_s = found.relative_speed_km_s * 1e3
            event.tier, event.tier_basis = assessment.tier.value, assessment.basis
            event.window_edge = found.edge
            event.updated_at = now
        hits.append(_hit(event, found))
        count_after_commit(repository.session, CONJUNCTION_EVENTS.labels(event.tier))
    await repository.flush()
    return hits


async def _emit_finished(session: AsyncSession, screening: ConjunctionScreening) -> None:
    await emit(
        session,
        screening.organisation_id,
        "screening.finished",
        screening.id,
        {
            "screening_id": screening.id,
            "status": screening.status,
            "objects_screened": screening.objects_screened,
            "events_found": len(screening.results or []),
            "error": screening.error,
        },
    )


@span("screening.store_results")
async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    organisation_id: uuid.UUID,
    screening_id: uuid.UUID,
    result: ScreeningResult,
    names: dict[str, str | None],
    settings: Settings,
) -> None:
    async with session_scope(sessionmaker) as session:
        repository = ConjunctionRepository(session, organisation_id)
        now = datetime.now(UTC)
        screening = await _screening_or_404(repository, screening_id)
        screening.results = await _store_screening_events(
            repository, screening, result, names, settings.conjunction_tca_match_s, now
        )
        screening.objects_screened = result.stats.objects_screened
        screening.status = ScreeningStatus.SUCCEEDED.value
        screening.finished_at = now
        count_after_commit(session, SCREENING_RUNS.labels(ScreeningStatus.SUCCEEDED.value))
        annotate(events=len(result.events))
        await _emit_finished(session, screening)


@span("screening.run")
async def run_screening(
    sessionmaker: async_sessionmaker[AsyncSession],
    organisation_id: uuid.UUID,
    screening_id: uuid.UUID,
    settings: Settings,
) -> None:
    """The job behind ``POST /conjunctions/screenings``: one-vs-all against the newest
    element set of every catalog object as the organisation sees the catalog, in a worker
    thread; no transaction is held while it computes."""
    try:
        work = await _start(sessionmaker, organisation_id, screening_id)
        if work.primary not in {item.catalog_number for item in work.elements}:
            raise LookupError(f"the catalog has no element set for object {work.primary}")
        result = await asyncio.to_thread(
            span("screening.screen_catalog", objects=len(work.elements))(screen_catalog),
            work.elements,
            work.start,
            timedelta(days=work.days),
            work.threshold_km,
            primary=work.primary,
            workers=settings.conjunction_screening_workers,
        )
        names = {item.catalog_number: item.object_name for item in work.elements}
        await _finish(sessionmaker, organisation_id, screening_id, result, names, settings)
        log.info(
            "conjunction_screening_done", screening=str(screening_id), events=len(result.events)
        )
    except Exception as exc:  # the job's failure is its result; the service goes on
        log.exception("conjunction_screening_failed", screening=str(screening_id))
        await _mark_failed(sessionmaker, organisation_id, screening_id, str(exc) or repr(exc))


async def _mark_failed(
    sessionmaker: async_sessionmaker[AsyncSession],
    organisation_id: uuid.UUID,
    screening_id: uuid.UUID,
    reason: str,
) -> None:
    try:
        async with session_scope(sessionmaker) as session:
            screening = await ConjunctionRepository(session, organisation_id).get_screening(
                screening_id
            )
            if screening is not None:  # gone with its spacecraft or organisation
                screening.status = ScreeningStatus.FAILED.value
                screening.error = reason[:1000]
                screening.finished_at = datetime.now(UTC)
                count_after_commit(session, SCREENING_RUNS.labels(ScreeningStatus.FAILED.value))
                await _emit_finished(session, screening)
    except Exception:  # the database itself is failing; the log above has the cause
        log.exception("conjunction_screening_state_lost", screening=str(screening_id))


async def fail_interrupted_screenings(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """At start-up: screenings a previous process left queued or running (crash, shutdown)
    have no task any more; they are marked failed with the reason rather than re-run, so
    the requester decides whether the screening is still wanted against today's catalog.

    Every unfinished screening counts as interrupted: with several replicas, a replica
    starting while another runs a screening fails that one too (no owner is kept per job).
    """
    async with session_scope(sessionmaker) as session:
        failed = await UpkeepRepository(session).fail_unfinished_screenings(
            INTERRUPTED_BY_RESTART, now or datetime.now(UTC)
        )
    if failed:
        log.warning("conjunction_screenings_interrupted", count=failed)
    return failed
