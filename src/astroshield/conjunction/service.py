"""Conjunction events: CDM intake, Pc history, plots, avoidance trades, screening jobs.

The numerical work (Pc by every method, plots, screening, avoidance) is CPU bound and runs
in worker threads so the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.models import AlertRule
from astroshield.alerts.notifiers import Notification
from astroshield.alerts.service import BuiltinRule, observe, organisation_rule
from astroshield.astro.conjunction import avoidance, risk
from astroshield.astro.conjunction.pc import DegenerateGeometryError, encounter_plane
from astroshield.astro.conjunction.report import InertialPair, PcReport, inertial_pair, pc_report
from astroshield.astro.conjunction.screening import ScreeningResult, screen_catalog
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.cdm import (
    Cdm,
    CdmError,
    CdmWarning,
    dumps_kvn,
    dumps_xml,
    loads,
    loads_kvn,
    loads_xml,
)
from astroshield.astro.plots import encounter as pc_plots
from astroshield.audit.service import Actor, record
from astroshield.catalog.repository import CatalogRepository
from astroshield.catalog.service import to_element_set
from astroshield.config import Settings
from astroshield.conjunction import cdm_export
from astroshield.conjunction.models import (
    ConjunctionCdm,
    ConjunctionEvent,
    ConjunctionScreening,
    EventSource,
    EventStatus,
    ScreeningStatus,
)
from astroshield.conjunction.repository import (
    ConjunctionRepository,
    EventFilter,
    UpkeepRepository,
)
from astroshield.conjunction.schemas import ScreeningCreate
from astroshield.db import session_scope
from astroshield.errors import (
    ConflictError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import get_spacecraft

log = structlog.get_logger(__name__)

CdmFormat = Literal["kvn", "xml"]
KVN_MEDIA_TYPES = frozenset({"text/plain"})
XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})

THRESHOLDS = risk.RiskThresholds()
INTERRUPTED_BY_RESTART = "interrupted by a restart"
EXPORT_ORIGINATOR = "ASTROSHIELD"


def _aware(moment: datetime) -> datetime:
    """CDM epochs are naive UTC labels."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def tca_key(tca: datetime, window_s: float) -> datetime:
    """The TCA bucket an event is unique on (see ``ConjunctionEvent``)."""
    seconds = tca.timestamp()
    return datetime.fromtimestamp(seconds - seconds % window_s, tz=UTC)


# ------------------------------------------------------------------------------- parsing


def cdm_problem(exc: CdmError) -> InvalidInputError:
    keyword = exc.keyword or "cdm"
    where = f"line {exc.line}: " if exc.line is not None else ""
    return InvalidInputError(
        f"the CDM is not valid: {exc}", errors=[FieldError(["body", keyword], where + exc.reason)]
    )


def parse_cdm(body: bytes, media_type: str) -> tuple[Cdm, CdmFormat, str]:
    """The message, its encoding (from the media type) and its text; problems name the
    keyword and line."""
    if media_type in KVN_MEDIA_TYPES:
        fmt: CdmFormat = "kvn"
    elif media_type in XML_MEDIA_TYPES:
        fmt = "xml"
    else:
        raise UnsupportedMediaTypeError(
            "a CDM is sent as text/plain (KVN) or application/xml (XML)"
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            "the CDM is not UTF-8 text",
            errors=[FieldError(["body"], f"byte {exc.start} is not UTF-8")],
        ) from None
    if not text.strip():
        raise InvalidInputError("empty CDM", errors=[FieldError(["body"], "empty message")])
    try:
        with warnings.catch_warnings():
            # Non-positive-definite covariances are kept in Cdm.issues and reported.
            warnings.simplefilter("ignore", CdmWarning)
            message = loads_kvn(text) if fmt == "kvn" else loads_xml(text)
    except CdmError as exc:
        raise cdm_problem(exc) from None
    return message, fmt, text


def _stored_cdm(row: ConjunctionCdm) -> Cdm:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CdmWarning)
        return loads(row.raw)


def render_cdm(message: Cdm, fmt: CdmFormat) -> str:
    return dumps_kvn(message) if fmt == "kvn" else dumps_xml(message)


# -------------------------------------------------------------------------------- alerts


def _engine_threshold(tier_bound: float) -> float:
    """A CARA tier starts *at* its bound (red is Pc >= 1e-4) while the alert engine fires on
    ``value > threshold``: the next float below the bound makes the engine's ``>`` mean ``>=``
    for every Pc, without a second comparison mode in the engine."""
    return math.nextafter(tier_bound, 0.0)


ALERT_RULE = BuiltinRule(
    key="conjunction-pc",
    name="Conjunction collision probability",
    metric="conjunction_pc",
    comparison="above",
    thresholds={
        "warning": _engine_threshold(THRESHOLDS.yellow_pc),
        "critical": _engine_threshold(THRESHOLDS.red_pc),
    },
    # Resolved back in the green (value < clear); the engine wants clear <= warning, which
    # leaves the one float just below 1e-5 as the hysteresis band.
    clear=_engine_threshold(THRESHOLDS.yellow_pc),
    for_s=0.0,
    description="2-D Pc of the latest CDM of a conjunction (CARA tiers)",
)
# Once TCA has passed the encounter is over: its alert is fed this and resolves.
PASSED_PC = 0.0


async def pc_alert_rule(session: AsyncSession, organisation_id: uuid.UUID) -> AlertRule:
    """The organisation's Pc rule: warning in the yellow tier, critical in the red."""
    return await organisation_rule(
        session, organisation_id, ALERT_RULE, labels={"domain": "conjunction"}
    )


async def observe_pc(
    session: AsyncSession, event: ConjunctionEvent, spacecraft_name: str | None, now: datetime
) -> Notification | None:
    """Feed the event's Pc to its alert (one alert per event); a closed event resolves it."""
    if event.pc is None:
        return None  # found by screening: no Pc, no alert
    rule = await pc_alert_rule(session, event.organisation_id)
    value = event.pc if event.status == EventStatus.OPEN.value else PASSED_PC
    labels = {
        "event_id": str(event.id),
        "primary": event.primary_catalog_number,
        "secondary": event.secondary_catalog_number,
    }
    # The name is shown, not part of the alert's identity: a renamed spacecraft keeps it.
    annotations = {"spacecraft": spacecraft_name} if spacecraft_name else None
    return await observe(session, rule, value, now, labels=labels, annotations=annotations)


async def close_passed_events(
    session: AsyncSession, events: Sequence[ConjunctionEvent], now: datetime
) -> list[Notification]:
    """Close events whose TCA has passed and resolve their Pc alerts."""
    notifications: list[Notification] = []
    for event in events:
        event.status = EventStatus.CLOSED.value
        event.updated_at = now
        notification = await observe_pc(session, event, None, now)
        if notification is not None:
            notifications.append(notification)
    await session.flush()
    return notifications


async def close_passed_conjunctions(
    session: AsyncSession, now: datetime, *, dry_run: bool
) -> tuple[int, list[Notification]]:
    """The periodic step (every organisation): how many events it closes (a dry run only
    counts them) and the notifications of the alerts it resolves, to send after commit."""
    events = await UpkeepRepository(session).passed_open_events(now)
    if dry_run:
        return len(events), []
    return len(events), await close_passed_events(session, events, now)


# ---------------------------------------------------------------------------- CDM intake


@dataclass(frozen=True, slots=True)
class Upload:
    event: ConjunctionEvent
    cdm: ConjunctionCdm
    duplicate: bool
    notifications: tuple[Notification, ...] = ()


def _ours(
    message: Cdm, spacecraft: Sequence[Spacecraft]
) -> tuple[Spacecraft, str, str, str | None]:
    """(our spacecraft, primary and secondary catalog numbers, secondary name)."""
    by_number = {s.catalog_number: s for s in spacecraft}
    first, second = message.object1.metadata, message.object2.metadata
    for ours, other in ((first, second), (second, first)):
        number = ours.catalog_number()
        if number is not None and number in by_number:
            secondary = other.catalog_number() or other.object_designator.strip()
            if not secondary or len(secondary) > 9:
                raise InvalidInputError(
                    "the other object has no usable designator",
                    errors=[
                        FieldError(
                            ["body", "OBJECT_DESIGNATOR"],
                            f"{other.object}: expected a catalog number of at most 9 characters",
                        )
                    ],
                )
            return by_number[number], number, secondary, other.object_name[:128]
    raise InvalidInputError(
        "neither object of the CDM is a spacecraft of your organisation",
        errors=[
            FieldError(
                ["body", "OBJECT_DESIGNATOR"],
                f"no spacecraft with catalog number {first.object_designator} or "
                f"{second.object_designator} is registered",
            )
        ],
    )


def _compute_report(message: Cdm, settings: Settings) -> PcReport:
    try:
        return pc_report(
            message,
            hbr_m=settings.conjunction_default_hbr_m,
            mc_samples=settings.conjunction_pc_mc_samples,
        )
    except CdmError as exc:
        raise cdm_problem(exc) from None
    except DegenerateGeometryError as exc:
        raise InvalidInputError(
            "no encounter plane: the relative velocity at TCA is (near) zero",
            errors=[FieldError(["body", "X_DOT"], str(exc))],
        ) from None
    except ValueError as exc:
        raise InvalidInputError(
            f"the CDM cannot give a Pc: {exc}", errors=[FieldError(["body", "cdm"], str(exc))]
        ) from None


async def ingest_cdm(
    session: AsyncSession,
    repository: ConjunctionRepository,
    settings: Settings,
    body: bytes,
    media_type: str,
    actor: Actor,
    *,
    source: str = "api",
    now: datetime | None = None,
) -> Upload:
    """Store one CDM: match the caller's spacecraft, compute every Pc, update (or open) the
    event and its tier, and raise the Pc alert. A re-sent MESSAGE_ID changes nothing."""
    now = now or datetime.now(UTC)
    message, fmt, text = parse_cdm(body, media_type)
    digest = hashlib.sha256(text.encode()).hexdigest()
    message_id = message.header.message_id.strip()
    known = await repository.cdm_by_message_id(message_id)
    if known is not None:
        if known.content_sha256 != digest:
            raise ConflictError(
                f"MESSAGE_ID {message_id} was stored with different content",
                errors=[FieldError(["body", "MESSAGE_ID"], "already used for another message")],
            )
        event = await repository.get_event(known.event_id)
        assert event is not None  # the foreign key keeps the CDM's event
        return Upload(event, known, duplicate=True)

    candidates = [
        number
        for number in (
            message.object1.metadata.catalog_number(),
            message.object2.metadata.catalog_number(),
        )
        if number is not None
    ]
    spacecraft, primary, secondary, secondary_name = _ours(
        message, await repository.spacecraft_by_catalog_numbers(candidates)
    )
    report = await asyncio.to_thread(_compute_report, message, settings)
    tca = _aware(message.relative.tca)
    creation = _aware(message.header.creation_date)
    pc = report.pc_2d_foster
    miss_m = report.miss_distance_m
    assessment = risk.assess(tca=tca, now=now, miss_distance_km=miss_m / 1e3, pc=pc)

    window = timedelta(seconds=settings.conjunction_tca_match_s)
    event = await repository.find_event(primary, secondary, tca, window)
    newest = True
    if event is None:
        event = await repository.add_event(
            ConjunctionEvent(
                organisation_id=repository.organisation_id,
                spacecraft_id=spacecraft.id,
                primary_catalog_number=primary,
                secondary_catalog_number=secondary,
                tca=tca,
                tca_key=tca_key(tca, settings.conjunction_tca_match_s),
                miss_distance_m=miss_m,
                tier=assessment.tier.value,
                tier_basis=assessment.basis,
                source=EventSource.CDM.value,
            )
        )
    else:
        latest = await repository.latest_cdm(event.id)
        # An older CDM arriving late joins the history but does not rewrite the event.
        newest = latest is None or creation >= latest.creation_date
    if newest:
        event.tca = tca
        event.miss_distance_m = miss_m
        event.relative_speed_m_s = report.relative_speed_m_s
        event.pc = pc
        event.tier = assessment.tier.value
        event.tier_basis = assessment.basis
        event.secondary_name = secondary_name
        event.source = EventSource.CDM.value
        event.status = (EventStatus.OPEN if tca >= now else EventStatus.CLOSED).value
        event.updated_at = now
    row = await repository.add_cdm(
        ConjunctionCdm(
            event_id=event.id,
            organisation_id=repository.organisation_id,
            message_id=message_id,
            originator=message.header.originator[:128],
            creation_date=creation,
            tca=tca,
            miss_distance_m=miss_m,
            pc_2d_foster=pc,
            pc_2d_chan=report.pc_2d_chan,
            pc_max=report.pc_max,
            pc_3d=report.pc_3d,
            pc_mc=report.pc_mc.value,
            hbr_m=report.hbr_m,
            report=report.as_dict(),
            raw=text,
            content_sha256=digest,
            format=fmt,
            source=source,
            received_at=now,
        )
    )
    notifications: list[Notification] = []
    if newest and (observed := await observe_pc(session, event, spacecraft.name, now)):
        notifications.append(observed)
    # Without a periodic step (retention_interval_s = 0) each write keeps the status current.
    passed = await repository.passed_open_events(now)
    notifications += await close_passed_events(session, passed, now)
    await record(
        session,
        actor.event(
            "conjunction.cdm_received",
            object_type="conjunction_event",
            object_id=event.id,
            message_id=message_id,
            tier=event.tier,
        ),
    )
    return Upload(event, row, duplicate=False, notifications=tuple(notifications))


# -------------------------------------------------------------------------------- reads


async def get_event(repository: ConjunctionRepository, event_id: uuid.UUID) -> ConjunctionEvent:
    event = await repository.get_event(event_id)
    if event is None:
        raise NotFoundError(f"conjunction event {event_id} not found")
    return event


async def list_events(
    repository: ConjunctionRepository,
    filters: EventFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[ConjunctionEvent]:
    return await repository.list_events(filters, after=after, limit=limit)


@dataclass(frozen=True, slots=True)
class EventHistory:
    event: ConjunctionEvent
    cdms: Sequence[ConjunctionCdm]
    trend: risk.PcTrend


async def event_history(repository: ConjunctionRepository, event_id: uuid.UUID) -> EventHistory:
    event = await get_event(repository, event_id)
    cdms = await repository.cdms_of_event(event_id)
    trend = risk.pc_trend([(row.creation_date, row.pc_2d_foster) for row in cdms])
    return EventHistory(event, cdms, trend)


async def get_cdm(
    repository: ConjunctionRepository, event_id: uuid.UUID, cdm_id: uuid.UUID
) -> ConjunctionCdm:
    await get_event(repository, event_id)
    row = await repository.get_cdm(event_id, cdm_id)
    if row is None:
        raise NotFoundError(f"CDM {cdm_id} of event {event_id} not found")
    return row


def cdm_text(row: ConjunctionCdm, fmt: CdmFormat | None) -> tuple[str, CdmFormat]:
    """The CDM as received, or re-encoded when another format is asked for."""
    if fmt is None or fmt == row.format:
        return row.raw, "kvn" if row.format == "kvn" else "xml"
    return render_cdm(_stored_cdm(row), fmt), fmt


async def _latest_cdm(repository: ConjunctionRepository, event: ConjunctionEvent) -> ConjunctionCdm:
    row = await repository.latest_cdm(event.id)
    if row is None:
        raise ConflictError(
            "this event has no CDM (it was found by screening, without covariance); "
            "export one with GET .../cdm or upload one"
        )
    return row


def _primary_first(pair: InertialPair, message: Cdm, primary: str) -> InertialPair:
    if message.object1.metadata.catalog_number() == primary:
        return pair
    return InertialPair(pair.frame, pair.r2, pair.v2, pair.c2, pair.r1, pair.v1, pair.c1)


# -------------------------------------------------------------------------------- plots


def _encounter_png(message: Cdm, hbr_m: float, title: str) -> bytes:
    pair = inertial_pair(message)
    plane = encounter_plane(pair.r1, pair.v1, pair.c1, pair.r2, pair.v2, pair.c2, hbr_m / 1e3)
    return pc_plots.encounter_plane_plot(
        plane.miss * 1e3, plane.covariance * 1e6, hbr_m, unit="m", title=title
    )


async def encounter_png(repository: ConjunctionRepository, event_id: uuid.UUID) -> bytes:
    event = await get_event(repository, event_id)
    row = await _latest_cdm(repository, event)
    title = (
        f"{event.primary_catalog_number} vs {event.secondary_catalog_number}, "
        f"Pc {row.pc_2d_foster:.2e}"
    )
    return await asyncio.to_thread(_encounter_png, _stored_cdm(row), row.hbr_m, title)


async def pc_history_png(repository: ConjunctionRepository, event_id: uuid.UUID) -> bytes:
    history = await event_history(repository, event_id)
    times = [row.creation_date for row in history.cdms]
    values = [row.pc_2d_foster for row in history.cdms]
    title = (
        f"{history.event.primary_catalog_number} vs "
        f"{history.event.secondary_catalog_number}: Pc over CDM updates"
    )
    return await asyncio.to_thread(
        pc_plots.pc_history_plot,
        times,
        values,
        red_pc=THRESHOLDS.red_pc,
        yellow_pc=THRESHOLDS.yellow_pc,
        title=title,
    )


# ---------------------------------------------------------------------------- avoidance


@dataclass(frozen=True, slots=True)
class AvoidanceTrade:
    cdm_id: uuid.UUID
    before: avoidance.Approach
    result: avoidance.AvoidanceResult | None


def _trade(
    pair: InertialPair,
    hbr_km: float,
    *,
    lead_time_s: float,
    direction: avoidance.Direction,
    max_delta_v_m_s: float,
) -> tuple[avoidance.Approach, avoidance.AvoidanceResult | None]:
    states = (pair.r1, pair.v1, pair.c1, pair.r2, pair.v2, pair.c2)
    before = avoidance.approach_after_burn(
        *states, hbr_km, delta_v_m_s=0.0, direction=direction, lead_time_s=lead_time_s
    )
    result = avoidance.avoidance_trade(
        *states,
        hbr_km,
        lead_time_s=lead_time_s,
        direction=direction,
        red_pc=THRESHOLDS.red_pc,
        max_delta_v_m_s=max_delta_v_m_s,
    )
    return before, result


async def avoidance_trade(
    repository: ConjunctionRepository,
    event_id: uuid.UUID,
    *,
    lead_time_s: float,
    direction: avoidance.Direction,
    max_delta_v_m_s: float,
) -> AvoidanceTrade:
    """The smallest burn of our spacecraft that takes the latest CDM's Pc out of red."""
    event = await get_event(repository, event_id)
    row = await _latest_cdm(repository, event)
    message = _stored_cdm(row)
    pair = _primary_first(inertial_pair(message), message, event.primary_catalog_number)
    before, result = await asyncio.to_thread(
        _trade,
        pair,
        row.hbr_m / 1e3,
        lead_time_s=lead_time_s,
        direction=direction,
        max_delta_v_m_s=max_delta_v_m_s,
    )
    return AvoidanceTrade(row.id, before, result)


# ---------------------------------------------------------------------------- CDM export


async def export_cdm(
    session: AsyncSession, repository: ConjunctionRepository, event_id: uuid.UUID, fmt: CdmFormat
) -> str:
    """The latest received CDM of the event; for a screening event (none received) one
    built from the catalog: SGP4 states at TCA and a default covariance (see
    :mod:`astroshield.conjunction.cdm_export`)."""
    event = await get_event(repository, event_id)
    latest = await repository.latest_cdm(event.id)
    if latest is not None:
        return cdm_text(latest, fmt)[0]
    catalog = CatalogRepository(session, repository.organisation_id)
    states: list[ElementSet] = []
    for number in (event.primary_catalog_number, event.secondary_catalog_number):
        stored = await catalog.element_set_at(number, event.tca)
        if stored is None:
            raise ConflictError(f"the catalog has no element set for object {number}")
        states.append(to_element_set(stored))
    primary_set, secondary_set = states

    def build() -> str:
        try:
            primary = cdm_export.state_at(primary_set, event.tca)
            secondary = cdm_export.state_at(secondary_set, event.tca, event.secondary_name)
        except cdm_export.PropagationError as exc:
            raise ConflictError(str(exc)) from None
        message = cdm_export.build_cdm(
            primary,
            secondary,
            event.tca,
            message_id=f"{EXPORT_ORIGINATOR}-{event.id}",
            originator=EXPORT_ORIGINATOR,
            creation_date=datetime.now(UTC),
        )
        return render_cdm(message, fmt)

    return await asyncio.to_thread(build)


# ---------------------------------------------------------------------------- screening


async def request_screening(
    session: AsyncSession,
    repository: ConjunctionRepository,
    settings: Settings,
    data: ScreeningCreate,
    actor: Actor,
) -> ConjunctionScreening:
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
    spacecraft = await get_spacecraft(session, repository.organisation_id, data.spacecraft_id)
    if spacecraft.catalog_number is None:
        raise InvalidInputError(
            "the spacecraft has no catalog number to screen",
            errors=[FieldError(["body", "spacecraft_id"], "spacecraft has no catalog_number")],
        )
    screening = await repository.add_screening(
        ConjunctionScreening(
            organisation_id=repository.organisation_id,
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


async def get_screening(
    repository: ConjunctionRepository, screening_id: uuid.UUID
) -> ConjunctionScreening:
    screening = await repository.get_screening(screening_id)
    if screening is None:
        raise NotFoundError(f"screening {screening_id} not found")
    return screening


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
                )
            )
        elif event.pc is None:
            # A Pc from a CDM outranks a catalog miss distance; without one, the newer
            # screening is the better estimate.
            event.tca = found.tca
            event.miss_distance_m = found.miss_distance_km * 1e3
            event.relative_speed_m_s = found.relative_speed_km_s * 1e3
            event.tier, event.tier_basis = assessment.tier.value, assessment.basis
            event.updated_at = now
        hits.append(
            {
                "event_id": str(event.id),
                "secondary_catalog_number": found.object2,
                "tca": found.tca.isoformat(),
                "miss_distance_km": found.miss_distance_km,
                "relative_speed_km_s": found.relative_speed_km_s,
                "tier": event.tier,
            }
        )
    await repository.flush()
    return hits


async def run_screening(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    organisation_id: uuid.UUID,
    screening_id: uuid.UUID,
) -> None:
    """The job behind ``POST /conjunctions/screenings``: one-vs-all against the newest
    element set of every catalog object as the organisation sees the catalog (public sets
    and its own overlay), in a worker thread; its outcome is stored on the screening row
    whatever happens."""
    try:
        async with session_scope(sessionmaker) as session:
            repository = ConjunctionRepository(session, organisation_id)
            screening = await get_screening(repository, screening_id)
            screening.status = ScreeningStatus.RUNNING.value
            screening.started_at = datetime.now(UTC)
            catalog = CatalogRepository(session, organisation_id)
            records = await catalog.latest_element_sets()
            elements = [to_element_set(row) for row in records]
            primary = screening.catalog_number
            start, days = screening.start, screening.days
            threshold_km = screening.threshold_km
        if primary not in {item.catalog_number for item in elements}:
            raise LookupError(f"the catalog has no element set for object {primary}")
        result = await asyncio.to_thread(
            screen_catalog,
            elements,
            start,
            timedelta(days=days),
            threshold_km,
            primary=primary,
            workers=settings.conjunction_screening_workers,
        )
        names = {item.catalog_number: item.object_name for item in elements}
        async with session_scope(sessionmaker) as session:
            repository = ConjunctionRepository(session, organisation_id)
            now = datetime.now(UTC)
            screening = await get_screening(repository, screening_id)
            screening.results = await _store_screening_events(
                repository, screening, result, names, settings.conjunction_tca_match_s, now
            )
            screening.objects_screened = result.stats.objects_screened
            screening.status = ScreeningStatus.SUCCEEDED.value
            screening.finished_at = now
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
    except Exception:  # the database itself is failing; the log above has the cause
        log.exception("conjunction_screening_state_lost", screening=str(screening_id))


async def fail_interrupted_screenings(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """At start-up: screenings a previous process left queued or running (crash, shutdown)
    have no task any more; they are marked failed with the reason rather than re-run, so
    the requester decides whether the screening is still wanted against today's catalog.

    Every unfinished screening counts as interrupted: with several replicas, a replica
    starting while another runs a screening fails that one too (v1 keeps no owner per job).
    """
    async with session_scope(sessionmaker) as session:
        failed = await UpkeepRepository(session).fail_unfinished_screenings(
            INTERRUPTED_BY_RESTART, now or datetime.now(UTC)
        )
    if failed:
        log.warning("conjunction_screenings_interrupted", count=failed)
    return failed
