"""The Pc alert of a conjunction event: its rule, feeding it, and resolving it once the
event's TCA has passed."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.models import AlertRule
from astroshield.alerts.notifiers import Notification
from astroshield.alerts.service import BuiltinRule, observe, organisation_rule
from astroshield.conjunction.models import ConjunctionEvent, EventStatus
from astroshield.conjunction.repository import UpkeepRepository
from astroshield.conjunction.service.events import THRESHOLDS


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
    # Shown with the alert, not part of its identity (the event is): a renamed spacecraft
    # keeps its alert, and the list filters by spacecraft_id.
    annotations = {"spacecraft_id": str(event.spacecraft_id)}
    if spacecraft_name:
        annotations["spacecraft"] = spacecraft_name
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
