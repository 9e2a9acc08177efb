"""CDM intake: parse a CDM, compute every Pc, open or update its event, raise the alert."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.notifiers import Notification
from astroshield.api.media_types import unsupported_media_type
from astroshield.astro.conjunction import risk
from astroshield.astro.conjunction.hard_body import HbrInputs, SpacecraftRadius
from astroshield.astro.conjunction.pc import DegenerateGeometryError
from astroshield.astro.conjunction.report import PcReport, pc_report
from astroshield.astro.formats.cdm import Cdm, CdmError, CdmWarning, loads_kvn, loads_xml
from astroshield.audit.service import Actor, record
from astroshield.config import Settings
from astroshield.conjunction.models import (
    ConjunctionCdm,
    ConjunctionEvent,
    EventSource,
    EventStatus,
)
from astroshield.conjunction.repository import ConjunctionRepository
from astroshield.conjunction.service.alerting import close_passed_events, observe_pc
from astroshield.conjunction.service.events import CdmFormat
from astroshield.errors import (
    ConflictError,
    FieldError,
    InvalidInputError,
)
from astroshield.observability.domain_metrics import (
    CDMS_INGESTED,
    PC_REPORT_METHODS,
    count_after_commit,
    count_pc_report_after_commit,
)
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import spacecraft_by_catalog_number

KVN_MEDIA_TYPES = frozenset({"text/plain"})
XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})


@dataclass(frozen=True, slots=True)
class Upload:
    event: ConjunctionEvent
    cdm: ConjunctionCdm
    duplicate: bool
    notifications: tuple[Notification, ...] = ()


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


def _format_of(media_type: str) -> CdmFormat:
    if media_type in KVN_MEDIA_TYPES:
        return "kvn"
    if media_type in XML_MEDIA_TYPES:
        return "xml"
    raise unsupported_media_type(media_type, KVN_MEDIA_TYPES | XML_MEDIA_TYPES)


def parse_cdm(body: bytes, media_type: str) -> tuple[Cdm, CdmFormat, str]:
    """The message, its encoding (from the media type) and its text; problems name the
    keyword and line."""
    fmt = _format_of(media_type)
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


@dataclass(frozen=True, slots=True)
class _Received:
    """One parsed CDM with what identifies it."""

    message: Cdm
    fmt: CdmFormat
    text: str
    digest: str
    message_id: str

    @classmethod
    def of(cls, body: bytes, media_type: str) -> _Received:
        message, fmt, text = parse_cdm(body, media_type)
        digest = hashlib.sha256(text.encode()).hexdigest()
        return cls(message, fmt, text, digest, message.header.message_id.strip())

    @property
    def tca(self) -> datetime:
        return _aware(self.message.relative.tca)

    @property
    def creation(self) -> datetime:
        return _aware(self.message.header.creation_date)


@dataclass(frozen=True, slots=True)
class _Pair:
    """Which object of the CDM is ours (the primary) and which the other (the secondary)."""

    primary: str
    secondary: str
    secondary_name: str | None


def _catalog_numbers(message: Cdm) -> list[str]:
    numbers = (
        message.object1.metadata.catalog_number(),
        message.object2.metadata.catalog_number(),
    )
    return [number for number in numbers if number is not None]


def _ours(message: Cdm, registered: Collection[str]) -> _Pair:
    """Our object is the one registered as a spacecraft of the organisation."""
    first, second = message.object1.metadata, message.object2.metadata
    for ours, other in ((first, second), (second, first)):
        number = ours.catalog_number()
        if number is not None and number in registered:
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
            return _Pair(number, secondary, other.object_name[:128])
    numbers = [n for n in (first.catalog_number(), second.catalog_number()) if n is not None]
    example = numbers[0] if numbers else "<catalog number>"
    raise InvalidInputError(
        f"neither object of the CDM (catalog numbers {' and '.join(numbers) or 'unknown'}) is "
        "a spacecraft of your organisation; register yours first with POST /api/v1/spacecraft "
        f'{{"name": "...", "catalog_number": "{example}"}} and send the CDM again',
        extensions={"catalog_numbers": numbers},
        errors=[
            FieldError(
                ["body", "OBJECT_DESIGNATOR"],
                f"no spacecraft with catalog number {first.object_designator} or "
                f"{second.object_designator} is registered",
            )
        ],
    )


def _radius_of(spacecraft: Spacecraft | None) -> SpacecraftRadius | None:
    if spacecraft is None or spacecraft.hard_body_radius_m is None:
        return None
    assert spacecraft.catalog_number is not None  # matched by catalog number
    return SpacecraftRadius(spacecraft.catalog_number, spacecraft.hard_body_radius_m)


def _hbr_inputs(
    settings: Settings,
    ours: Mapping[str, Spacecraft],
    pair: _Pair,
    requested_m: float | None,
) -> HbrInputs:
    """The request's radius, the registered radii of our spacecraft and of the secondary
    (only when it is one of the organisation's own: ``ours`` holds nothing else) and the
    configured default, for :func:`~astroshield.astro.conjunction.hard_body.hard_body_radius`."""
    return HbrInputs(
        requested_m=requested_m,
        primary=_radius_of(ours.get(pair.primary)),
        secondary=_radius_of(ours.get(pair.secondary)),
        default_m=settings.conjunction_default_hbr_m,
    )


@span("conjunction.pc", methods=",".join(PC_REPORT_METHODS))
def _compute_report(message: Cdm, settings: Settings, hbr: HbrInputs) -> PcReport:
    try:
        return pc_report(message, hbr=hbr, mc_samples=settings.conjunction_pc_mc_samples)
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


# ----------------------------------------------------------------------------- storing


async def _resent(
    repository: ConjunctionRepository, known: ConjunctionCdm, cdm: _Received
) -> Upload:
    """A MESSAGE_ID seen before: the same message changes nothing, another one conflicts."""
    if known.content_sha256 != cdm.digest:
        raise ConflictError(
            f"MESSAGE_ID {cdm.message_id} was stored with different content",
            errors=[FieldError(["body", "MESSAGE_ID"], "already used for another message")],
        )
    event = await repository.get_event(known.event_id)
    assert event is not None  # the foreign key keeps the CDM's event
    return Upload(event, known, duplicate=True)


async def _event_for(
    repository: ConjunctionRepository,
    settings: Settings,
    spacecraft_id: uuid.UUID,
    pair: _Pair,
    cdm: _Received,
    report: PcReport,
    now: datetime,
) -> tuple[ConjunctionEvent, bool]:
    """The event the CDM belongs to (opened if new) and whether the CDM is its newest, in
    which case the event now shows this CDM's numbers."""
    tca = cdm.tca
    assessment = risk.assess(
        tca=tca, now=now, miss_distance_km=report.miss_distance_m / 1e3, pc=report.pc_2d_foster
    )
    window = timedelta(seconds=settings.conjunction_tca_match_s)
    event = await repository.find_event(pair.primary, pair.secondary, tca, window)
    newest = True
    if event is None:
        event = await repository.add_event(
            ConjunctionEvent(
                organisation_id=repository.organisation_id,
                spacecraft_id=spacecraft_id,
                primary_catalog_number=pair.primary,
                secondary_catalog_number=pair.secondary,
                tca=tca,
                tca_key=tca_key(tca, settings.conjunction_tca_match_s),
                miss_distance_m=report.miss_distance_m,
                tier=assessment.tier.value,
                tier_basis=assessment.basis,
                source=EventSource.CDM.value,
            )
        )
    else:
        latest = await repository.latest_cdm(event.id)
        # An older CDM arriving late joins the history but does not rewrite the event.
        newest = latest is None or cdm.creation >= latest.creation_date
    if newest:
        event.tca = tca
        event.miss_distance_m = report.miss_distance_m
        event.relative_speed_m_s = report.relative_speed_m_s
        event.pc = report.pc_2d_foster
        event.tier = assessment.tier.value
        event.tier_basis = assessment.basis
        event.secondary_name = pair.secondary_name
        event.source = EventSource.CDM.value
        event.window_edge = None  # a CDM's TCA is the real minimum
        event.status = (EventStatus.OPEN if tca >= now else EventStatus.CLOSED).value
        event.updated_at = now
    return event, newest


def _cdm_row(
    event: ConjunctionEvent, cdm: _Received, report: PcReport, source: str, now: datetime
) -> ConjunctionCdm:
    return ConjunctionCdm(
        event_id=event.id,
        organisation_id=event.organisation_id,
        message_id=cdm.message_id,
        originator=cdm.message.header.originator[:128],
        creation_date=cdm.creation,
        tca=cdm.tca,
        miss_distance_m=report.miss_distance_m,
        pc_2d_foster=report.pc_2d_foster,
        pc_2d_chan=report.pc_2d_chan,
        pc_max=report.pc_max,
        pc_3d=report.pc_3d,
        pc_mc=report.pc_mc.value,
        hbr_m=report.hbr_m,
        report=report.as_dict(),
        raw=cdm.text,
        content_sha256=cdm.digest,
        format=cdm.fmt,
        source=source,
        received_at=now,
    )


@span("conjunction.cdm_intake")
async def ingest_cdm(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: bytes,
    media_type: str,
    *,
    actor: Actor,
    source: str = "api",
    hbr_m: float | None = None,
    now: datetime | None = None,
) -> Upload:
    """Store one CDM: match the caller's spacecraft, compute every Pc, update (or open) the
    event and its tier, and raise the Pc alert. A re-sent MESSAGE_ID changes nothing.

    ``hbr_m`` is a requested combined hard-body radius (m); without it the radius comes from
    the spacecraft, the CDM or the default (:mod:`astroshield.astro.conjunction.hard_body`)."""
    now = now or datetime.now(UTC)
    repository = ConjunctionRepository(session, principal.organisation_id)
    cdm = _Received.of(body, media_type)
    known = await repository.cdm_by_message_id(cdm.message_id)
    if known is not None:
        return await _resent(repository, known, cdm)

    ours = await spacecraft_by_catalog_number(
        session, principal.organisation_id, _catalog_numbers(cdm.message)
    )
    pair = _ours(cdm.message, ours)
    spacecraft = ours[pair.primary]
    hbr = _hbr_inputs(settings, ours, pair, hbr_m)
    report = await asyncio.to_thread(_compute_report, cdm.message, settings, hbr)
    event, newest = await _event_for(repository, settings, spacecraft.id, pair, cdm, report, now)
    row = await repository.add_cdm(_cdm_row(event, cdm, report, source, now))
    count_after_commit(session, CDMS_INGESTED.labels(event.tier))
    count_pc_report_after_commit(session)
    annotate(format=cdm.fmt, tier=event.tier, newest=newest)
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
            message_id=cdm.message_id,
            tier=event.tier,
        ),
    )
    return Upload(event, row, duplicate=False, notifications=tuple(notifications))
