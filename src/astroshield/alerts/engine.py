"""Alert rule evaluation: thresholds per severity, a ``for`` duration and hysteresis.

Pure logic (no I/O), so the same state machine serves metric rules, telemetry limits and
domain events, and is tested without a server:

* a condition must hold continuously for ``for_s`` before the alert fires (``pending``
  until then; a dip resets the clock), as Prometheus does;
* once firing it resolves only when the value is back past the *clear* threshold, so a
  value wandering inside the hysteresis band cannot make it flap;
* the severity is the highest whose threshold the value crosses, and may escalate or
  de-escalate while firing;
* acknowledgement and shelving are operator decisions: they silence notifications but
  never hide a state change;
* a *latching* rule (YAMCS: "latching alarms", the alarm stays until acknowledged) does not
  resolve by itself while unacknowledged: once fired it stays firing after the value is back
  to normal, so a transient violation cannot go unseen. Acknowledging it then resolves it; an
  alert acknowledged while still out of limits resolves when the value clears, as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Comparison(StrEnum):
    ABOVE = "above"  # fires when value > threshold
    BELOW = "below"  # fires when value < threshold


class AlertStatus(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Rule:
    """``thresholds`` per severity; ``clear`` is where a firing alert resolves (for
    ``above`` it must lie below the lowest threshold, for ``below`` above the highest)."""

    key: str
    metric: str
    comparison: Comparison
    thresholds: dict[Severity, float]
    clear: float
    for_s: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    description: str = ""
    latching: bool = False

    def __post_init__(self) -> None:
        if not self.thresholds:
            raise ValueError("a rule needs at least one threshold")
        if self.for_s < 0:
            raise ValueError("for_s must not be negative")
        lowest = min(self.thresholds.values())
        highest = max(self.thresholds.values())
        if self.comparison is Comparison.ABOVE and self.clear > lowest:
            raise ValueError("clear threshold must not exceed the lowest firing threshold")
        if self.comparison is Comparison.BELOW and self.clear < highest:
            raise ValueError("clear threshold must not be below the highest firing threshold")

    def severity_for(self, value: float) -> Severity | None:
        """The highest severity whose threshold ``value`` crosses."""
        crossed = [
            severity
            for severity, threshold in self.thresholds.items()
            if (value > threshold if self.comparison is Comparison.ABOVE else value < threshold)
        ]
        return max(crossed, key=lambda s: s.rank) if crossed else None

    def cleared_by(self, value: float) -> bool:
        return value < self.clear if self.comparison is Comparison.ABOVE else value > self.clear


@dataclass(frozen=True)
class AlertState:
    status: AlertStatus = AlertStatus.INACTIVE
    severity: Severity | None = None
    value: float | None = None
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_comment: str | None = None
    shelved_until: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)

    def shelved(self, now: datetime) -> bool:
        return self.shelved_until is not None and now < self.shelved_until


class Change(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    SHELVED = "shelved"
    UNSHELVED = "unshelved"


# Changes people are told about; the rest are only recorded.
NOTIFY_ON = frozenset({Change.FIRED, Change.ESCALATED, Change.RESOLVED})


def evaluate(
    rule: Rule, state: AlertState, value: float, now: datetime
) -> tuple[AlertState, Change | None]:
    """Feed one observation; returns the new state and what changed (if anything)."""
    severity = rule.severity_for(value)
    if state.active:
        if rule.cleared_by(value):
            if rule.latching and state.status is AlertStatus.FIRING:
                return replace(state, value=value), None  # waits for an operator
            return (
                replace(
                    state,
                    status=AlertStatus.RESOLVED,
                    value=value,
                    resolved_at=now,
                    pending_since=None,
                ),
                Change.RESOLVED,
            )
        if severity is not None and state.severity is not None and severity != state.severity:
            change = Change.ESCALATED if severity.rank > state.severity.rank else Change.DEESCALATED
            # Escalation re-arms acknowledgement: a worse situation needs a fresh look.
            status = AlertStatus.FIRING if change is Change.ESCALATED else state.status
            return replace(state, status=status, severity=severity, value=value), change
        # Inside the hysteresis band, or same severity: nothing changes.
        return replace(state, value=value), None

    if severity is None:
        if state.status is AlertStatus.PENDING:
            return replace(
                state, status=AlertStatus.INACTIVE, pending_since=None, value=value
            ), None
        return replace(state, value=value), None

    since = (
        state.pending_since
        if state.status is AlertStatus.PENDING and state.pending_since is not None
        else now
    )

    if now - since >= timedelta(seconds=rule.for_s):
        fired = AlertState(
            status=AlertStatus.FIRING,
            severity=severity,
            value=value,
            pending_since=since,
            fired_at=now,
            shelved_until=state.shelved_until,
        )
        return fired, Change.FIRED
    if state.status is AlertStatus.PENDING:
        return replace(state, severity=severity, value=value), None
    return (
        AlertState(
            status=AlertStatus.PENDING,
            severity=severity,
            value=value,
            pending_since=now,
            shelved_until=state.shelved_until,
        ),
        Change.PENDING,
    )


def acknowledge(
    state: AlertState, *, by: str, comment: str | None, now: datetime, rule: Rule | None = None
) -> tuple[AlertState, Change | None]:
    """Acknowledge a firing alert. For a latching ``rule`` whose last value is already back
    to normal this is also the end of the alert: it resolves (``Change.RESOLVED``)."""
    if state.status is not AlertStatus.FIRING:
        return state, None
    acknowledged = replace(
        state,
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_by=by,
        acknowledged_at=now,
        ack_comment=comment,
    )
    if (
        rule is not None
        and rule.latching
        and state.value is not None
        and rule.cleared_by(state.value)
    ):
        resolved = replace(
            acknowledged, status=AlertStatus.RESOLVED, resolved_at=now, pending_since=None
        )
        return resolved, Change.RESOLVED
    return acknowledged, Change.ACKNOWLEDGED


def shelve(state: AlertState, *, until: datetime) -> tuple[AlertState, Change]:
    return replace(state, shelved_until=until), Change.SHELVED


def unshelve(state: AlertState) -> tuple[AlertState, Change]:
    return replace(state, shelved_until=None), Change.UNSHELVED


def should_notify(state: AlertState, change: Change | None, now: datetime) -> bool:
    return change in NOTIFY_ON and not state.shelved(now)
