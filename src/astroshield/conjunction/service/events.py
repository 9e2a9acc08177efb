"""Conjunction events and their CDMs as a caller reads them."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.conjunction import risk
from astroshield.astro.formats.cdm import Cdm, CdmWarning, dumps_kvn, dumps_xml, loads
from astroshield.conjunction.models import ConjunctionCdm, ConjunctionEvent, EventStatus
from astroshield.conjunction.repository import ConjunctionRepository
from astroshield.conjunction.schemas import EventFilter
from astroshield.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from astroshield.security.principal import Principal

CdmFormat = Literal["kvn", "xml"]

# The tiers every event is assessed, plotted and traded against (CARA's defaults).
THRESHOLDS = risk.RiskThresholds()


@dataclass(frozen=True, slots=True)
class EventHistory:
    event: ConjunctionEvent
    cdms: Sequence[ConjunctionCdm]
    trend: risk.PcTrend


def state_filter(state: EventStatus | None, status: EventStatus | None) -> EventStatus | None:
    """``?state=``, or its deprecated alias ``?status=`` (an old client still gets the list
    it asked for); both, disagreeing, is a 422."""
    if state is not None and status is not None and state != status:
        raise InvalidInputError(
            f"state={state.value} and its deprecated alias status={status.value} disagree",
            errors=[FieldError(["query", "status"], "deprecated alias of state: give state")],
        )
    return state if state is not None else status


def stored_cdm(row: ConjunctionCdm) -> Cdm:
    """The stored message, parsed again; data-quality warnings were reported on upload."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CdmWarning)
        return loads(row.raw)


def render_cdm(message: Cdm, fmt: CdmFormat) -> str:
    return dumps_kvn(message) if fmt == "kvn" else dumps_xml(message)


def cdm_text(row: ConjunctionCdm, fmt: CdmFormat | None) -> tuple[str, CdmFormat]:
    """The CDM as received, or re-encoded when another format is asked for."""
    if fmt is None or fmt == row.format:
        return row.raw, "kvn" if row.format == "kvn" else "xml"
    return render_cdm(stored_cdm(row), fmt), fmt


async def event_or_404(repository: ConjunctionRepository, event_id: uuid.UUID) -> ConjunctionEvent:
    """The one get-or-404 of an event; another organisation's event is not found."""
    event = await repository.get_event(event_id)
    if event is None:
        raise NotFoundError(f"conjunction event {event_id} not found")
    return event


async def latest_cdm_or_409(
    repository: ConjunctionRepository, event: ConjunctionEvent
) -> ConjunctionCdm:
    """The event's latest CDM, which plots and trades need; a screening event has none."""
    row = await repository.latest_cdm(event.id)
    if row is None:
        raise ConflictError(
            "this event has no CDM (it was found by screening, without covariance); "
            "export one with GET .../cdm or upload one"
        )
    return row


async def history_of(repository: ConjunctionRepository, event_id: uuid.UUID) -> EventHistory:
    event = await event_or_404(repository, event_id)
    cdms = await repository.cdms_of_event(event_id)
    trend = risk.pc_trend(
        [(row.creation_date, row.pc_2d_foster) for row in cdms if row.pc_2d_foster is not None]
    )
    return EventHistory(event, cdms, trend)


async def list_events(
    session: AsyncSession,
    principal: Principal,
    filters: EventFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[ConjunctionEvent]:
    repository = ConjunctionRepository(session, principal.organisation_id)
    return await repository.list_events(filters, after=after, limit=limit)


async def event_history(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> EventHistory:
    """The event with its CDMs (oldest first) and the trend of Pc over them."""
    return await history_of(ConjunctionRepository(session, principal.organisation_id), event_id)


async def get_cdm(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, cdm_id: uuid.UUID
) -> ConjunctionCdm:
    repository = ConjunctionRepository(session, principal.organisation_id)
    await event_or_404(repository, event_id)
    row = await repository.get_cdm(event_id, cdm_id)
    if row is None:
        raise NotFoundError(f"CDM {cdm_id} of event {event_id} not found")
    return row


async def latest_open_event_between(
    session: AsyncSession, organisation_id: uuid.UUID, first: str, second: str, now: datetime
) -> ConjunctionEvent | None:
    """The organisation's most recently updated open event of the pair (either one the
    primary) whose TCA is still ahead; for other domains' analyses (CCDM intent)."""
    repository = ConjunctionRepository(session, organisation_id)
    return await repository.latest_open_event_between(first, second, now)
