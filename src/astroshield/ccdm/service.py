"""CCDM logic: RPO proximity, maneuvers, pattern of life and intent of catalog objects.

Every analysis reads the catalog as the caller's organisation sees it (public sets and its
own overlay, with the precedence of :mod:`astroshield.catalog`); the sources it reports name
the caller's own uploads as such.

Everything is computed on request from the stored element sets. What is kept is what must be
announced once (:mod:`.stored`): each manoeuvre detection (``maneuver.detected``), the
latest intent category of each assessed pair (``intent.changed``), and the alert state of a
``potential_threat``. The windows are bounded by
settings (``ccdm_max_days``, ``ccdm_history_days``, ``ccdm_max_neighbours``), and the
numerical work runs in a worker thread so the event loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.models import AlertRule
from astroshield.alerts.notifiers import Notification
from astroshield.alerts.service import BuiltinRule, observe, organisation_rule
from astroshield.astro.ccdm.intent import (
    ConjunctionInput,
    IntentAssessment,
    IntentCategory,
    IntentConfig,
    assess_intent,
)
from astroshield.astro.ccdm.maneuvers import ManeuverDetection, detect_maneuvers
from astroshield.astro.ccdm.pattern_of_life import (
    PatternConfig,
    PatternOfLife,
    learn_pattern_of_life,
)
from astroshield.astro.ccdm.rpo import (
    Neighbour,
    ProximityConfig,
    ProximityReport,
    analyze_neighbour,
    element_set_at,
    find_neighbours,
)
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.catalog import service as catalog_service
from astroshield.catalog.models import ElementSetRecord
from astroshield.ccdm.stored import ScopedHistory, found_in, record_intent, store_detections
from astroshield.config import Settings
from astroshield.conjunction.models import ConjunctionEvent
from astroshield.conjunction.service.events import latest_open_event_between
from astroshield.errors import FieldError, InvalidInputError, NotFoundError
from astroshield.observability.domain_metrics import MANEUVERS_DETECTED, count_after_commit
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import get_spacecraft

# The alert value is 1 while the latest assessment of the pair is potential_threat, else 0.
_THREAT, _NO_THREAT = 1.0, 0.0
ALERT_RULE = BuiltinRule(
    key="ccdm-potential-threat",
    name="CCDM potential threat",
    metric="ccdm_intent_threat",
    comparison="above",
    thresholds={"critical": 0.5},
    clear=0.5,
    for_s=0.0,
    description="intent assessment of an object near a protected spacecraft is "
    "potential_threat (maneuvers toward it while approaching)",
)


@dataclass(frozen=True, slots=True)
class CcdmConfig:
    default_days: int
    max_days: int
    history_days: int
    max_neighbours: int
    proximity: ProximityConfig
    pattern: PatternConfig
    intent: IntentConfig


def config_from(settings: Settings) -> CcdmConfig:
    return CcdmConfig(
        default_days=settings.ccdm_proximity_days,
        max_days=settings.ccdm_max_days,
        history_days=settings.ccdm_history_days,
        max_neighbours=settings.ccdm_max_neighbours,
        proximity=ProximityConfig(
            max_plane_angle_deg=settings.ccdm_max_plane_angle_deg,
            altitude_band_km=settings.ccdm_altitude_band_km,
            geo_longitude_window_deg=settings.ccdm_geo_longitude_window_deg,
            trend_threshold_km_per_day=settings.ccdm_trend_threshold_km_per_day,
        ),
        pattern=PatternConfig(z_threshold=settings.ccdm_pattern_z_threshold),
        intent=IntentConfig(
            pattern_of_life_z=settings.ccdm_pattern_z_threshold,
            closing_rate_km_per_day=settings.ccdm_trend_threshold_km_per_day,
            proximity_km=settings.ccdm_proximity_km,
            weight_pattern_of_life=settings.ccdm_weight_pattern_of_life,
            weight_approach_trend=settings.ccdm_weight_approach_trend,
            weight_closest_approach=settings.ccdm_weight_closest_approach,
            weight_maneuvered_toward=settings.ccdm_weight_maneuvered_toward,
            weight_conjunction_risk=settings.ccdm_weight_conjunction_risk,
            threat_score=settings.ccdm_threat_score,
        ),
    )


@dataclass(frozen=True, slots=True)
class ObjectHistory:
    catalog_number: str
    elements: list[ElementSet]
    sources: tuple[str, ...]
    records: tuple[ElementSetRecord, ...] = ()

    @property
    def source_label(self) -> str:
        return ", ".join(self.sources) or "catalog"


@dataclass(frozen=True, slots=True)
class ProximityResult:
    spacecraft: Spacecraft
    catalog_number: str
    window_start: datetime
    window_stop: datetime
    protected_epochs: tuple[datetime, ...]
    neighbours: list[tuple[Neighbour, ProximityReport]]


@dataclass(frozen=True, slots=True)
class ManeuverResult:
    catalog_number: str
    start: datetime
    stop: datetime
    history: ObjectHistory
    detections: list[ManeuverDetection]


@dataclass(frozen=True, slots=True)
class IntentResult:
    spacecraft: Spacecraft
    protected_catalog_number: str
    assessment: IntentAssessment
    proximity: ProximityReport
    threat_alert: bool
    notification: Notification | None
    category_changed: bool = False


# ------------------------------------------------------------------------------ reads


def check_days(
    days: int | None, config: CcdmConfig, location: tuple[str, ...] = ("query", "days")
) -> int:
    value = config.default_days if days is None else days
    if not 1 <= value <= config.max_days:
        raise InvalidInputError(
            f"days must lie in [1, {config.max_days}]",
            errors=[FieldError(list(location), f"must lie in [1, {config.max_days}]")],
        )
    return value


async def protected_spacecraft(
    session: AsyncSession, organisation_id: uuid.UUID, spacecraft_id: uuid.UUID
) -> tuple[Spacecraft, str]:
    """The organisation's spacecraft and its catalog number (404 when not the caller's)."""
    spacecraft = await get_spacecraft(session, organisation_id, spacecraft_id)
    if spacecraft.catalog_number is None:
        raise InvalidInputError(
            f"spacecraft {spacecraft_id} has no catalog number; set it to link its orbit",
            errors=[FieldError(["path", "spacecraft_id"], "spacecraft has no catalog_number")],
        )
    return spacecraft, spacecraft.catalog_number


async def object_history(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    catalog_number: str,
    start: datetime | None,
    stop: datetime | None,
) -> ObjectHistory:
    """Element sets with ``start <= epoch <= stop`` plus the one valid at ``start``."""
    records = await catalog_service.element_set_window(
        session, organisation_id, catalog_number, start, stop
    )
    return ObjectHistory(
        catalog_number,
        [catalog_service.to_element_set(record) for record in records],
        tuple(sorted({source_label(record) for record in records})),
        tuple(records),
    )


def source_label(record: ElementSetRecord) -> str:
    """The set's source as analyses report it; the caller's own uploads say so."""
    if record.overlay:
        return f"{record.source} (your organisation's upload)"
    return record.source


async def newest_epoch(
    session: AsyncSession, organisation_id: uuid.UUID, catalog_number: str
) -> datetime:
    latest = await catalog_service.latest_element_sets(session, organisation_id, [catalog_number])
    if not latest:
        raise NotFoundError(f"catalog object {catalog_number} not found")
    return latest[0].epoch


# ------------------------------------------------------------------------- proximity


@span("ccdm.proximity")
async def proximity(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    days: int | None,
    config: CcdmConfig,
) -> ProximityResult:
    """Neighbours of the spacecraft at its newest element set, each with its relative
    motion over the ``days`` before it (closest first, at most ``max_neighbours``)."""
    window_days = check_days(days, config)
    organisation_id = principal.organisation_id
    spacecraft, catalog_number = await protected_spacecraft(session, organisation_id, spacecraft_id)
    stop = await newest_epoch(session, organisation_id, catalog_number)
    start = stop - timedelta(days=window_days)
    protected = await object_history(session, organisation_id, catalog_number, start, stop)
    reference = element_set_at(protected.elements, stop)
    candidates = [
        catalog_service.to_element_set(record)
        for record in await catalog_service.latest_element_sets(session, organisation_id)
        if record.catalog_number != catalog_number
    ]
    found = await asyncio.to_thread(find_neighbours, reference, candidates, config.proximity)
    # Bound the propagation work before it starts: the nearest by elements go first.
    neighbours = sorted(found, key=_element_distance)[: config.max_neighbours]
    reports: list[tuple[Neighbour, ProximityReport]] = []
    for neighbour in neighbours:
        history = await object_history(
            session,
            organisation_id,
            neighbour.catalog_number,
            stop - timedelta(days=config.history_days),
            stop,
        )
        report = await asyncio.to_thread(
            analyze_neighbour,
            protected.elements,
            history.elements,
            start,
            stop,
            config=config.proximity,
        )
        reports.append((neighbour, report))
    reports.sort(key=lambda pair: _closest_key(pair[1]))
    annotate(candidates=len(candidates), neighbours=len(reports))
    protected_epochs = tuple(item.epoch for item in protected.elements)
    return ProximityResult(spacecraft, catalog_number, start, stop, protected_epochs, reports)


def _element_distance(neighbour: Neighbour) -> tuple[float, float, float]:
    return (
        neighbour.longitude_separation_deg or 0.0,
        neighbour.altitude_gap_km,
        neighbour.plane_angle_deg,
    )


def _closest_key(report: ProximityReport) -> float:
    return report.closest_approach_km if report.closest_approach_km is not None else float("inf")


# ------------------------------------------------------------------------ maneuvers


@span("ccdm.maneuvers")
async def maneuvers(
    session: AsyncSession,
    principal: Principal,
    catalog_number: str,
    start: datetime | None,
    stop: datetime | None,
    config: CcdmConfig,
) -> ManeuverResult:
    """Detections in the stored history between ``start`` and ``stop`` (default: the
    ``history_days`` before the newest element set)."""
    if start is not None and stop is not None and start >= stop:
        raise InvalidInputError(
            "start must be before stop",
            errors=[FieldError(["query", "stop"], "must be after start")],
        )
    organisation_id = principal.organisation_id
    window_stop = stop or await newest_epoch(session, organisation_id, catalog_number)
    window_start = start or window_stop - timedelta(days=config.history_days)
    if window_stop - window_start > timedelta(days=config.history_days):
        raise InvalidInputError(
            f"the window may span at most {config.history_days} days",
            errors=[FieldError(["query", "start"], f"at most {config.history_days} days")],
        )
    history = await object_history(
        session, organisation_id, catalog_number, window_start, window_stop
    )
    detections = await asyncio.to_thread(detect_maneuvers, history.elements)
    scoped = ScopedHistory.of(catalog_number, history.records, organisation_id)
    stored = await store_detections(session, found_in(scoped, detections))
    count_after_commit(session, MANEUVERS_DETECTED, len(detections))
    annotate(element_sets=len(history.elements), maneuvers=len(detections), stored=stored)
    return ManeuverResult(catalog_number, window_start, window_stop, history, detections)


def sorted_epochs(history: ObjectHistory) -> list[datetime]:
    """Epochs in the order detection indices refer to (sorted, repeated epochs dropped)."""
    return sorted({item.epoch for item in history.elements})


# -------------------------------------------------------------------- pattern of life


@span("ccdm.pattern_of_life")
async def pattern_of_life(
    session: AsyncSession, principal: Principal, catalog_number: str, config: CcdmConfig
) -> tuple[PatternOfLife, ObjectHistory]:
    organisation_id = principal.organisation_id
    stop = await newest_epoch(session, organisation_id, catalog_number)
    history = await object_history(
        session,
        organisation_id,
        catalog_number,
        stop - timedelta(days=config.history_days),
        stop,
    )
    pattern = await asyncio.to_thread(
        learn_pattern_of_life, history.elements, config=config.pattern
    )
    return pattern, history


# ---------------------------------------------------------------------------- intent


async def threat_alert_rule(session: AsyncSession, organisation_id: uuid.UUID) -> AlertRule:
    """The organisation's intent rule: critical while the latest assessment of a pair is
    ``potential_threat``, resolved when it no longer is."""
    return await organisation_rule(session, organisation_id, ALERT_RULE, labels={"domain": "ccdm"})


def conjunction_input(event: ConjunctionEvent) -> ConjunctionInput:
    return ConjunctionInput(
        miss_distance_km=event.miss_distance_m / 1e3,
        tca=event.tca,
        pc=event.pc,
        source=f"conjunction event {event.id} ({event.source}, updated "
        f"{event.updated_at.isoformat()})",
    )


@span("ccdm.intent")
async def intent(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    catalog_number: str,
    days: int | None,
    conjunction: ConjunctionInput | None,
    config: CcdmConfig,
    now: datetime,
) -> IntentResult:
    """Assess ``catalog_number`` against the spacecraft over the ``days`` before the newer
    of their newest element sets; a ``potential_threat`` fires the organisation's alert,
    any other category resolves it. Without a ``conjunction`` from the caller, the latest
    open conjunction event of the pair (its latest Pc, miss distance and TCA) is used when
    the caller may read conjunctions. The category is kept; a new one emits
    ``intent.changed``."""
    evaluation = await assess_pair(
        session, principal, spacecraft_id, catalog_number, days, conjunction, config, now
    )
    return await apply_evaluation(session, evaluation, now)


async def assess_pair(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    catalog_number: str,
    days: int | None,
    conjunction: ConjunctionInput | None,
    config: CcdmConfig,
    now: datetime,
    in_body: bool = False,
) -> PairEvaluation:
    """The assessment :func:`intent` keeps and alerts on, with the inputs it came from,
    read only (the ML threat detector reads the same inputs). ``in_body``: errors name
    ``days`` and ``catalog_number`` as members of the request body (else the query and
    the path)."""
    window_days = check_days(days, config, ("body", "days") if in_body else ("query", "days"))
    organisation_id = principal.organisation_id
    spacecraft, protected_number = await protected_spacecraft(
        session, organisation_id, spacecraft_id
    )
    if catalog_number == protected_number:
        raise InvalidInputError(
            "an object cannot be assessed against itself",
            errors=[
                FieldError(
                    ["body" if in_body else "path", "catalog_number"], "is the spacecraft's own"
                )
            ],
        )
    pair = Pair(spacecraft, protected_number, catalog_number, window_days)
    read_conjunctions = principal.has(Scope.CONJUNCTIONS_READ)
    return await evaluate_pair(session, pair, conjunction, config, now, read_conjunctions)


@dataclass(frozen=True, slots=True)
class Pair:
    spacecraft: Spacecraft
    protected_number: str
    catalog_number: str
    window_days: int


@dataclass(frozen=True, slots=True)
class PairEvaluation:
    pair: Pair
    assessment: IntentAssessment
    report: ProximityReport
    inputs: AssessmentInputs


@dataclass(frozen=True, slots=True)
class AssessmentInputs:
    """What the assessment was computed from: the window, both histories, the pattern of
    life and the conjunction (the arguments of ``assess_intent`` and their sources)."""

    start: datetime
    stop: datetime
    now: datetime
    protected: ObjectHistory
    other: ObjectHistory
    pattern: PatternOfLife
    conjunction: ConjunctionInput | None


async def evaluate_pair(
    session: AsyncSession,
    pair: Pair,
    conjunction: ConjunctionInput | None,
    config: CcdmConfig,
    now: datetime,
    read_conjunctions: bool,
) -> PairEvaluation:
    """The assessment of the pair (reads only; the numerical work in a worker thread)."""
    organisation_id = pair.spacecraft.organisation_id
    protected_number, catalog_number = pair.protected_number, pair.catalog_number
    stop = min(
        await newest_epoch(session, organisation_id, protected_number),
        await newest_epoch(session, organisation_id, catalog_number),
    )
    start = stop - timedelta(days=pair.window_days)
    if conjunction is None and read_conjunctions:
        event = await latest_open_event_between(
            session, organisation_id, protected_number, catalog_number, now
        )
        conjunction = conjunction_input(event) if event is not None else None
    protected = await object_history(session, organisation_id, protected_number, start, stop)
    other = await object_history(
        session,
        organisation_id,
        catalog_number,
        stop - timedelta(days=config.history_days),
        stop,
    )
    assessment, report, pattern = await asyncio.to_thread(
        _assess, protected, other, start, stop, conjunction, config, now
    )
    annotate(category=assessment.category.value, score=assessment.score)
    inputs = AssessmentInputs(start, stop, now, protected, other, pattern, conjunction)
    return PairEvaluation(pair, assessment, report, inputs)


async def apply_evaluation(
    session: AsyncSession, evaluation: PairEvaluation, now: datetime
) -> IntentResult:
    """Raise or resolve the pair's threat alert and keep its category."""
    pair, assessment = evaluation.pair, evaluation.assessment
    threat = assessment.category is IntentCategory.POTENTIAL_THREAT
    notification = await _observe_threat(
        session, pair.spacecraft, pair.catalog_number, assessment, now
    )
    changed = await record_intent(
        session, pair.spacecraft, pair.catalog_number, assessment, pair.window_days, now
    )
    return IntentResult(
        pair.spacecraft,
        pair.protected_number,
        assessment,
        evaluation.report,
        threat,
        notification,
        changed,
    )


async def _observe_threat(
    session: AsyncSession,
    spacecraft: Spacecraft,
    catalog_number: str,
    assessment: IntentAssessment,
    now: datetime,
) -> Notification | None:
    """Fire the organisation's threat alert for the pair, or resolve it."""
    rule = await threat_alert_rule(session, spacecraft.organisation_id)
    threat = assessment.category is IntentCategory.POTENTIAL_THREAT
    return await observe(
        session,
        rule,
        _THREAT if threat else _NO_THREAT,
        now,
        labels={"spacecraft_id": str(spacecraft.id), "object": catalog_number},
        # Shown with the alert, not its identity (a renamed spacecraft keeps its alert).
        annotations={
            "spacecraft": spacecraft.name,
            "score": f"{assessment.score:.2f}",
            "category": assessment.category.value,
        },
    )


def _assess(
    protected: ObjectHistory,
    other: ObjectHistory,
    start: datetime,
    stop: datetime,
    conjunction: ConjunctionInput | None,
    config: CcdmConfig,
    now: datetime,
) -> tuple[IntentAssessment, ProximityReport, PatternOfLife]:
    detections = detect_maneuvers(other.elements)
    report = analyze_neighbour(
        protected.elements,
        other.elements,
        start,
        stop,
        config=config.proximity,
        detections=detections,
    )
    pattern = learn_pattern_of_life(other.elements, detections=detections, config=config.pattern)
    sources = sorted({*protected.sources, *other.sources})
    assessment = assess_intent(
        now=now,
        proximity=report,
        pattern=pattern,
        conjunction=conjunction,
        config=config.intent,
        data_source=", ".join(sources) or None,
    )
    return assessment, report, pattern
