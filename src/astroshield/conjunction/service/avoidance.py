"""The avoidance trade on an event's latest CDM (the numbers are
:mod:`astroshield.astro.conjunction.avoidance`)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.conjunction import avoidance
from astroshield.astro.conjunction.report import InertialPair, inertial_pair
from astroshield.astro.formats.cdm import Cdm
from astroshield.conjunction.repository import ConjunctionRepository
from astroshield.conjunction.service.events import (
    THRESHOLDS,
    event_or_404,
    latest_cdm_or_409,
    stored_cdm,
)
from astroshield.errors import ConflictError
from astroshield.observability.tracing import span
from astroshield.security.principal import Principal


@dataclass(frozen=True, slots=True)
class AvoidanceTrade:
    cdm_id: uuid.UUID
    before: avoidance.Approach
    result: avoidance.AvoidanceResult | None


def _primary_first(pair: InertialPair, message: Cdm, primary: str) -> InertialPair:
    if message.object1.metadata.catalog_number() == primary:
        return pair
    return InertialPair(pair.frame, pair.r2, pair.v2, pair.c2, pair.r1, pair.v1, pair.c1)


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


@dataclass(frozen=True, slots=True)
class EventEncounter:
    """The encounter of an event's latest CDM: our spacecraft first, at TCA."""

    cdm_id: uuid.UUID
    tca: datetime
    pair: InertialPair
    hbr_km: float


async def latest_encounter(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID
) -> EventEncounter:
    """The states and covariances at TCA of the event's latest CDM (404 for another
    organisation's event; 409 when its covariance gives no Pc to reduce)."""
    repository = ConjunctionRepository(session, principal.organisation_id)
    event = await event_or_404(repository, event_id)
    row = await latest_cdm_or_409(repository, event)
    if row.pc_2d_foster is None:
        # A covariance that cannot be remediated: no Pc to take out of red.
        reason = row.pc_undefined_reason.get("pc_2d_foster", "the covariance is not usable")
        raise ConflictError(f"the latest CDM's Pc is undefined: {reason}")
    message = stored_cdm(row)
    pair = _primary_first(inertial_pair(message), message, event.primary_catalog_number)
    return EventEncounter(row.id, row.tca, pair, row.hbr_m / 1e3)


@span("conjunction.avoidance_trade")
async def avoidance_trade(
    session: AsyncSession,
    principal: Principal,
    event_id: uuid.UUID,
    *,
    lead_time_s: float,
    direction: avoidance.Direction,
    max_delta_v_m_s: float,
) -> AvoidanceTrade:
    """The smallest burn of our spacecraft that takes the latest CDM's Pc out of red."""
    encounter = await latest_encounter(session, principal, event_id)
    before, result = await asyncio.to_thread(
        _trade,
        encounter.pair,
        encounter.hbr_km,
        lead_time_s=lead_time_s,
        direction=direction,
        max_delta_v_m_s=max_delta_v_m_s,
    )
    return AvoidanceTrade(encounter.cdm_id, before, result)
