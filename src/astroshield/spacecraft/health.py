"""Which health is in force, and why: the rules, without I/O.

A spacecraft's health comes from one of three places, in this order:

1. an operator **override** (a report with a reason and an expiry) while it has not expired;
2. its **telemetry**, once a parameter with limits has had a sample: the worst open limit
   alarm decides (:func:`health_from_alarms`);
3. the latest plain operator **report**, while telemetry does not drive it;

and is ``unknown`` (source ``none``) with none of them. An expired override is simply not
in force: nothing has to run at its expiry for readers to see the health behind it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from astroshield.spacecraft.models import HealthState
from astroshield.tm.limits import Level


class HealthSource(StrEnum):
    TELEMETRY = "telemetry"
    OVERRIDE = "override"
    REPORT = "report"
    NONE = "none"


class ContactState(StrEnum):
    CURRENT = "current"
    STALE = "stale"
    NEVER = "never"


class HistorySource(StrEnum):
    """What wrote a row of the status history."""

    REPORT = "report"
    OVERRIDE = "override"
    OVERRIDE_CLEARED = "override-cleared"
    OVERRIDE_EXPIRED = "override-expired"
    TELEMETRY = "telemetry"


# YAMCS levels by the health they mean. Distress sits between warning and critical in
# YAMCS; it is counted with critical here: it is already past what an operator tolerates.
CRITICAL_LEVELS = frozenset({Level.DISTRESS, Level.CRITICAL, Level.SEVERE})
DEGRADING_LEVELS = frozenset({Level.WATCH, Level.WARNING})


@dataclass(frozen=True, slots=True)
class TelemetryAlarm:
    """One open limit alarm of a spacecraft: its parameter, YAMCS level and alert."""

    parameter: str
    level: Level
    alert_id: uuid.UUID

    def as_reason(self) -> dict[str, str]:
        return {
            "parameter": self.parameter,
            "level": self.level.value,
            "alert_id": str(self.alert_id),
        }


def health_from_alarms(alarms: Iterable[TelemetryAlarm]) -> HealthState:
    """``critical`` if any alarm is at a critical-class level, else ``degraded`` if any is
    at watch or warning, else ``nominal``."""
    levels = {alarm.level for alarm in alarms}
    if levels & CRITICAL_LEVELS:
        return HealthState.CRITICAL
    if levels & DEGRADING_LEVELS:
        return HealthState.DEGRADED
    return HealthState.NOMINAL


def describe_alarms(alarms: Sequence[TelemetryAlarm]) -> str:
    """The reason a telemetry history row gives: ``battery_voltage critical, ...``, worst
    first, or that nothing is out of limits."""
    if not alarms:
        return "no open limit alarms"
    worst_first = sorted(alarms, key=lambda alarm: (-alarm.level.rank, alarm.parameter))
    return ", ".join(f"{alarm.parameter} {alarm.level.value}" for alarm in worst_first)[:500]


@dataclass(frozen=True, slots=True)
class HealthInputs:
    """What the health depends on, as stored on the spacecraft row."""

    telemetry_health: str | None
    reported_health: str | None
    override_health: str | None
    override_expires_at: datetime | None


def override_in_force(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now < expires_at


def health_now(
    stored: tuple[str, str], inputs: HealthInputs, now: datetime
) -> tuple[HealthState, HealthSource]:
    """The health in force at ``now`` for a reader: the ``(health, source)`` stored at the
    last recompute, unless that was an override which has expired since."""
    if inputs.override_expires_at is not None and not override_in_force(
        inputs.override_expires_at, now
    ):
        return effective_health(replace(inputs, override_health=None), now)
    return HealthState(stored[0]), HealthSource(stored[1])


def effective_health(inputs: HealthInputs, now: datetime) -> tuple[HealthState, HealthSource]:
    """The health in force at ``now`` and where it comes from (see the module docstring)."""
    if inputs.override_health is not None and override_in_force(inputs.override_expires_at, now):
        return HealthState(inputs.override_health), HealthSource.OVERRIDE
    if inputs.telemetry_health is not None:
        return HealthState(inputs.telemetry_health), HealthSource.TELEMETRY
    if inputs.reported_health is not None:
        return HealthState(inputs.reported_health), HealthSource.REPORT
    return HealthState.UNKNOWN, HealthSource.NONE


def contact_state(last_contact_at: datetime | None, now: datetime, stale_s: float) -> ContactState:
    """``stale`` when the last contact is older than ``stale_s``; a spacecraft between
    passes is normal, so this is shown beside the health and never changes it."""
    if last_contact_at is None:
        return ContactState.NEVER
    if (now - last_contact_at).total_seconds() > stale_s:
        return ContactState.STALE
    return ContactState.CURRENT
