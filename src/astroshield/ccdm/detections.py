"""The follow-up of a catalog import: manoeuvre detection on the objects that got new
element sets, intent re-assessment of the pairs already assessed, and one-vs-all screenings
of the organisations' spacecraft.

The caller (the scheduled feed refresh) imports and commits, then calls
:func:`after_catalog_import` with a fresh session and the catalog numbers that got new sets,
and commits that session with :func:`astroshield.db.session_scope` (or another unit of
work): detections, their ``maneuver.detected`` events, intent categories and their
``intent.changed`` events and the queued screenings are stored in that one transaction; the
screenings run once it has committed (they need the rows committed and write in their own
transactions), and so are the alert notifications of re-assessed pairs given to ``notify``
(the app's notification dispatcher). No network I/O happens while the transaction is open.

Catalog uploads through the API do not run it: an upload of the whole catalog (26k objects)
would hold the request for minutes of detector work. The upload path emits
``catalog.refreshed``; ``GET /ccdm/objects/{n}/maneuvers`` stores what it detects.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from astroshield.alerts.notifiers import Notification
from astroshield.astro.ccdm.maneuvers import MIN_HISTORY_SETS, detect_maneuvers
from astroshield.astro.ids import IdentifierError, normalize_catalog_number
from astroshield.audit.service import Actor
from astroshield.catalog.service import element_set_window, to_element_set
from astroshield.ccdm import service
from astroshield.ccdm.repository import DetectionRepository, assessed_pairs_involving
from astroshield.ccdm.stored import FoundDetections, ScopedHistory, found_in, store_detections
from astroshield.config import Settings
from astroshield.conjunction.schemas import ScreeningCreate
from astroshield.conjunction.service.screening_jobs import request_screening, run_screening
from astroshield.db import after_commit_of, create_sessionmaker
from astroshield.errors import DomainError
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.spacecraft.models import Spacecraft

log = structlog.get_logger(__name__)

SYSTEM_USER = "system"


@dataclass(slots=True)
class ImportFollowUp:
    """What the follow-up did. ``screenings`` are (organisation, screening id) pairs queued
    in the caller's transaction and run after its commit; ``notifications`` are the alert
    changes of re-assessed pairs (given to ``notify`` after the commit)."""

    objects: int = 0
    objects_analysed: int = 0
    detections_stored: int = 0
    intents_reassessed: int = 0
    intents_changed: int = 0
    screenings: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


@span("ccdm.after_catalog_import")
async def after_catalog_import(
    session: AsyncSession,
    settings: Settings,
    catalog_numbers: Collection[str],
    *,
    organisation_id: uuid.UUID | None = None,
    notify: Callable[[Notification], Awaitable[None]] | None = None,
) -> ImportFollowUp:
    """Follow up an import that gave ``catalog_numbers`` new element sets: of the public
    catalog (``organisation_id`` None, a feed refresh) or of that organisation's overlay.
    Writes in ``session``; the caller commits. ``notify`` (the app's notification
    dispatcher) is given the alert notifications of re-assessed pairs after the commit.

    Everything is computed before the first write, so the transaction holds the database's
    write lock (SQLite) only while the results are stored, not while the detector runs."""
    numbers = _canonical(catalog_numbers)
    config = service.config_from(settings)
    outcome = ImportFollowUp(objects=len(numbers))
    now = datetime.now(UTC)
    found = await _detect(session, settings, numbers, organisation_id, outcome)
    evaluations = await _evaluate_pairs(session, numbers, organisation_id, config, now)
    for item in found:
        outcome.detections_stored += await store_detections(session, item)
    for evaluation in evaluations:
        result = await service.apply_evaluation(session, evaluation, now)
        outcome.intents_reassessed += 1
        outcome.intents_changed += int(result.category_changed)
        if result.notification is not None:
            outcome.notifications.append(result.notification)
    if settings.ccdm_followup_screenings and numbers:
        await _request_screenings(session, settings, numbers, organisation_id, outcome)
    if notify is not None and outcome.notifications:
        _notify_after_commit(session, notify, list(outcome.notifications))
    annotate(
        objects=outcome.objects,
        analysed=outcome.objects_analysed,
        detections=outcome.detections_stored,
        screenings=len(outcome.screenings),
    )
    log.info(
        "ccdm_import_follow_up",
        objects=outcome.objects,
        analysed=outcome.objects_analysed,
        detections=outcome.detections_stored,
        intents_changed=outcome.intents_changed,
        screenings=len(outcome.screenings),
    )
    return outcome


async def _detect(
    session: AsyncSession,
    settings: Settings,
    numbers: Sequence[str],
    organisation_id: uuid.UUID | None,
    outcome: ImportFollowUp,
) -> list[FoundDetections]:
    """Run the detector on each object worth it (reads only)."""
    days = settings.ccdm_followup_history_days or settings.ccdm_history_days
    found: list[FoundDetections] = []
    candidates = await _with_enough_history(session, numbers, organisation_id)
    if settings.ccdm_followup_skip_debris:
        debris = await DetectionRepository(session).debris_numbers(candidates)
        candidates = [number for number in candidates if number not in debris]
    for number in candidates:
        history = await _history(session, number, organisation_id, days)
        if history is None:
            continue
        outcome.objects_analysed += 1
        elements = [to_element_set(record) for record in history.records]
        detections = await asyncio.to_thread(detect_maneuvers, elements)
        if detections:
            found.append(found_in(history, detections))
    return found


def _notify_after_commit(
    session: AsyncSession,
    notify: Callable[[Notification], Awaitable[None]],
    notifications: list[Notification],
) -> None:
    async def send_all() -> None:
        for notification in notifications:
            try:
                await notify(notification)
            except Exception:  # delivery has its own retries and dead letters
                log.exception("ccdm_follow_up_notification_failed", alert=notification.id)

    after_commit_of(session, send_all)


def _canonical(catalog_numbers: Collection[str]) -> list[str]:
    numbers: set[str] = set()
    for value in catalog_numbers:
        try:
            numbers.add(normalize_catalog_number(value))
        except IdentifierError:
            log.warning("ccdm_follow_up_bad_catalog_number", catalog_number=value)
    return sorted(numbers)


async def _with_enough_history(
    session: AsyncSession, numbers: Sequence[str], organisation_id: uuid.UUID | None
) -> list[str]:
    """The numbers worth running the detector on: one grouped count, so a whole-catalog
    import skips the objects with fewer public sets than the detector needs at all (an
    overlay import counts its overlay sets too, in the per-object read)."""
    if organisation_id is not None:
        return list(numbers)
    sizes = await DetectionRepository(session).public_history_sizes(numbers)
    return [number for number in numbers if sizes.get(number, (0, None))[0] >= MIN_HISTORY_SETS]


async def _history(
    session: AsyncSession, number: str, organisation_id: uuid.UUID | None, days: int
) -> ScopedHistory | None:
    """The ``days`` of history before the object's newest set, as the scope sees it."""
    repository = DetectionRepository(session)
    if organisation_id is None:
        newest = (await repository.public_history_sizes([number])).get(number)
        if newest is None:
            return None
        stop = newest[1]
        records = await repository.public_history(number, stop - timedelta(days=days), stop)
    else:
        try:
            stop = await service.newest_epoch(session, organisation_id, number)
            records = await element_set_window(
                session, organisation_id, number, stop - timedelta(days=days), stop
            )
        except DomainError:  # nothing this organisation can see
            return None
    history = ScopedHistory.of(number, records, organisation_id)
    return history if len(history.records) >= MIN_HISTORY_SETS else None


async def _evaluate_pairs(
    session: AsyncSession,
    numbers: Sequence[str],
    organisation_id: uuid.UUID | None,
    config: service.CcdmConfig,
    now: datetime,
) -> list[service.PairEvaluation]:
    """Re-assess every stored pair whose object or spacecraft got new sets, with the
    window of its last assessment (an overlay import: only that organisation's pairs)."""
    evaluations: list[service.PairEvaluation] = []
    for stored, spacecraft in await assessed_pairs_involving(session, numbers):
        if organisation_id is not None and stored.organisation_id != organisation_id:
            continue
        protected = spacecraft.catalog_number
        if protected is None or protected == stored.catalog_number:
            continue
        pair = service.Pair(spacecraft, protected, stored.catalog_number, stored.window_days)
        try:
            evaluations.append(await service.evaluate_pair(session, pair, None, config, now, True))
        except DomainError:  # an object no longer in the catalog: keep the last category
            continue
    return evaluations


def _system_principal(organisation_id: uuid.UUID) -> Principal:
    """The organisation as the platform acts for it (screenings it did not ask for)."""
    return Principal(
        user_id=uuid.UUID(int=0),
        organisation_id=organisation_id,
        role=SYSTEM_USER,
        scopes=frozenset(),
        token_id=SYSTEM_USER,
        token_expires_at=datetime.max.replace(tzinfo=UTC),
        auth_method="bearer",
    )


async def _spacecraft_to_screen(
    session: AsyncSession,
    settings: Settings,
    numbers: Sequence[str],
    organisation_id: uuid.UUID | None,
) -> list[Spacecraft]:
    repository = DetectionRepository(session)
    if settings.ccdm_followup_screen_all_spacecraft:
        chosen = await repository.spacecraft_with_numbers(organisation_id)
    else:
        chosen = await repository.spacecraft_numbered(numbers)
    return [s for s in chosen if organisation_id is None or s.organisation_id == organisation_id]


async def _request_screenings(
    session: AsyncSession,
    settings: Settings,
    numbers: Sequence[str],
    organisation_id: uuid.UUID | None,
    outcome: ImportFollowUp,
) -> None:
    """Queue a one-vs-all screening per chosen spacecraft (the ``POST
    /conjunctions/screenings`` path, requested by ``system``) and run them once the
    caller's transaction has committed."""
    start = datetime.now(UTC)
    for spacecraft in await _spacecraft_to_screen(session, settings, numbers, organisation_id):
        data = ScreeningCreate(
            spacecraft_id=spacecraft.id,
            start=start,
            days=settings.ccdm_followup_screening_days,
            threshold_km=settings.ccdm_followup_screening_threshold_km,
        )
        try:
            screening = await request_screening(
                session,
                _system_principal(spacecraft.organisation_id),
                settings,
                data,
                actor=Actor(user_id=SYSTEM_USER, organisation_id=spacecraft.organisation_id),
            )
        except DomainError as exc:  # e.g. limits an operator lowered below these settings
            log.warning(
                "ccdm_follow_up_screening_refused", spacecraft=str(spacecraft.id), error=str(exc)
            )
            continue
        outcome.screenings.append((spacecraft.organisation_id, screening.id))
    bind = session.bind
    if not outcome.screenings or not isinstance(bind, AsyncEngine):
        return
    sessionmaker = create_sessionmaker(bind)
    queued = list(outcome.screenings)

    async def run_all() -> None:
        for owner, screening_id in queued:  # one at a time: they share the workers
            await run_screening(sessionmaker, owner, screening_id, settings)

    after_commit_of(session, run_all)
