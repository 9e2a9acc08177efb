"""Telemetry limits: per-sample limit states and limit alarms through the alert engine.

Each limit set owns one *latching* alert rule on the metric ``telemetry_limit_level``
(0 in limits, 1 watch ... 5 severe), so the engine's thresholds map the YAMCS levels to
alert severities (watch -> info, warning/distress -> warning, critical/severe -> critical)
and an alarm stays until an operator acknowledges it. The YAMCS level is kept in the
alert's ``level`` label.

The consecutive-violation count lives in ``telemetry_limit_state`` so that
``min_violations`` spans batches. The engine is fed only when the alarm level of a
parameter changes: its rules have no ``for`` duration, so repeating an unchanged value
could not change the alert, and a 10 000-sample batch costs a handful of queries.

Whenever an alarm is raised or cleared, the spacecraft's health is derived again from its
open limit alarms in the same transaction (``spacecraft.service.apply_telemetry_alarms``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.models import AlertRule
from astroshield.alerts.notifiers import Notification
from astroshield.alerts.service import observe_alert
from astroshield.audit.service import Actor, record
from astroshield.db import utcnow
from astroshield.errors import FieldError, InvalidInputError, NotFoundError
from astroshield.security.principal import Principal
from astroshield.spacecraft.health import TelemetryAlarm
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import (
    StatusCache,
    apply_telemetry_alarms,
    forget_status,
    get_spacecraft,
    telemetry_drives_health,
)
from astroshield.telemetry.dictionary import parameter_of
from astroshield.telemetry.limits_models import TelemetryLimitSet, TelemetryLimitState
from astroshield.telemetry.models import TelemetryParameter
from astroshield.telemetry.repository.limits import LimitsRepository
from astroshield.tm.limits import (
    Level,
    LimitRange,
    LimitSet,
    ViolationCounter,
    ViolationState,
    limit_state,
)

LIMIT_METRIC = "telemetry_limit_level"
IN_LIMITS = "in_limits"
# Level ranks 1..5 against these: info from watch, warning from warning, critical from critical.
_ENGINE_THRESHOLDS = {"info": 0.5, "warning": 1.5, "critical": 3.5}
_ENGINE_CLEAR = 0.5
_LIMITABLE_TYPES = frozenset({"float", "int", "enum", "bool"})
_LEVEL_NAMES = frozenset(level.value for level in Level)

Ranges = Mapping[str, tuple[float | None, float | None]]


@dataclass
class LimitOutcome:
    states: list[str | None]
    notifications: list[Notification] = field(default_factory=list)
    alarm_changes: list[dict[str, object]] = field(default_factory=list)


def to_limit_set(row: TelemetryLimitSet) -> LimitSet:
    return LimitSet(
        {
            Level(level): LimitRange(bounds.get("low"), bounds.get("high"))
            for level, bounds in row.ranges.items()
        },
        row.min_violations,
    )


def _level_or_none(name: str | None) -> Level | None:
    return Level(name) if name else None


Transition = tuple[datetime, float, Level | None, Level | None]  # time, value, before, after


async def apply_limits(
    session: AsyncSession,
    spacecraft: Spacecraft,
    samples: Sequence[tuple[int, datetime, float]],
    now: datetime,
) -> LimitOutcome:
    """Limit state of every sample (``(parameter_id, time, value)``, in time order) and
    the alarms it raises or clears; called inside the ingest transaction."""
    repository = LimitsRepository(session)
    active = await repository.active_sets(spacecraft.id, sorted({s[0] for s in samples}))
    if not active:
        return LimitOutcome([None] * len(samples))
    counters = {
        limit_set.parameter_id: ViolationCounter(
            to_limit_set(limit_set),
            ViolationState(state.consecutive_violations, _level_or_none(state.last_level)),
        )
        for limit_set, state, _ in active
    }
    outcome = LimitOutcome([None] * len(samples))
    transitions, latest = _feed(counters, samples, outcome.states)
    for limit_set, state, parameter in active:
        counter = counters[parameter.id]
        state.consecutive_violations = counter.state.consecutive
        state.last_level = counter.alarm_level.value if counter.alarm_level else None
        if parameter.id in latest:
            state.last_time = max(latest[parameter.id], state.last_time or latest[parameter.id])
        if parameter.id in transitions:
            rule = await _ensure_rule(repository, spacecraft, limit_set, parameter)
            for transition in transitions[parameter.id]:
                await _raise_or_clear(session, rule, parameter, transition, now, outcome)
    await _derive_health(repository, spacecraft, changed=bool(transitions), now=now)
    await session.flush()
    return outcome


async def _derive_health(
    repository: LimitsRepository, spacecraft: Spacecraft, *, changed: bool, now: datetime
) -> None:
    """Hand the spacecraft's open limit alarms to its health when one was raised or cleared
    (or the first time its limits apply); otherwise its health is only rechecked for an
    expired override, which costs no query."""

    async def open_alarms() -> list[TelemetryAlarm]:
        return [
            TelemetryAlarm(parameter, Level(level), alert_id)
            for alert_id, parameter, level in await repository.open_alarms(spacecraft.id)
            if level in _LEVEL_NAMES  # a latched alarm back in limits says "in_limits"
        ]

    reread = changed or not telemetry_drives_health(spacecraft)
    await apply_telemetry_alarms(
        repository.session, spacecraft, open_alarms if reread else None, now
    )


def _feed(
    counters: Mapping[int, ViolationCounter],
    samples: Sequence[tuple[int, datetime, float]],
    states: list[str | None],
) -> tuple[dict[int, list[Transition]], dict[int, datetime]]:
    """Run the samples through their parameters' counters, writing each sample's level
    into ``states``; the alarm level changes and the newest time, per parameter."""
    transitions: dict[int, list[Transition]] = {}
    latest: dict[int, datetime] = {}
    for index, (parameter_id, time, value) in enumerate(samples):
        counter = counters.get(parameter_id)
        if counter is None:
            continue
        before = counter.alarm_level
        level, alarm = counter.feed(float(value))
        states[index] = level.value if level is not None else None
        if alarm != before:
            transitions.setdefault(parameter_id, []).append((time, value, before, alarm))
        latest[parameter_id] = max(time, latest.get(parameter_id, time))
    return transitions, latest


async def _raise_or_clear(
    session: AsyncSession,
    rule: AlertRule,
    parameter: TelemetryParameter,
    transition: Transition,
    now: datetime,
    outcome: LimitOutcome,
) -> None:
    """Feed one alarm level change to the alert engine; record the notification and the
    live feed's alarm message in ``outcome``."""
    time, value, before, alarm = transition
    observed = await observe_alert(
        session,
        rule,
        float(alarm.rank if alarm is not None else 0),
        now,
        annotations={"level": alarm.value if alarm is not None else IN_LIMITS},
    )
    if observed.notification is not None:
        outcome.notifications.append(observed.notification)
    alert = observed.alert
    outcome.alarm_changes.append(
        {
            "parameter": parameter.name,
            "time": time.isoformat(),
            "value": value,
            "level": alarm.value if alarm is not None else None,
            "previous_level": before.value if before is not None else None,
            "change": observed.change.value if observed.change else None,
            "alert_id": str(alert.id) if alert is not None else None,
            "status": alert.status if alert is not None else None,
            "severity": alert.severity if alert is not None else None,
        }
    )


async def limit_states_for(
    session: AsyncSession, spacecraft_id: uuid.UUID, parameter_id: int, values: Sequence[float]
) -> list[str | None]:
    """The limit level of each value under the parameter's current limit set."""
    row = await LimitsRepository(session).limit_set(spacecraft_id, parameter_id)
    if row is None or not row.enabled:
        return [None] * len(values)
    limit_set = to_limit_set(row)
    states: list[str | None] = []
    for value in values:
        level = limit_state(limit_set, float(value))
        states.append(level.value if level is not None else None)
    return states


async def _ensure_rule(
    repository: LimitsRepository,
    spacecraft: Spacecraft,
    limit_set: TelemetryLimitSet,
    parameter: TelemetryParameter,
) -> AlertRule:
    """The latching alert rule mirroring ``limit_set`` (re-created if someone deleted it)."""
    rule = await repository.rule(limit_set.alert_rule_id)
    if rule is None:
        rule = AlertRule(
            organisation_id=spacecraft.organisation_id,
            key=f"telemetry-limits.{parameter.id}",
            name=f"{spacecraft.name}: {parameter.name} out of limits"[:200],
            metric=LIMIT_METRIC,
            comparison="above",
            thresholds=dict(_ENGINE_THRESHOLDS),
            clear_threshold=_ENGINE_CLEAR,
            for_s=0.0,
            labels={"spacecraft": str(spacecraft.id), "parameter": parameter.name},
            description=f"telemetry limits of {parameter.name}"[:2000],
            builtin=False,
            latching=True,
        )
        await repository.add(rule)
        limit_set.alert_rule_id = rule.id
    rule.enabled = limit_set.enabled
    return rule


def _checked_limit_set(ranges: Ranges, min_violations: int) -> LimitSet:
    try:
        return LimitSet.from_mapping(ranges, min_violations)
    except ValueError as exc:
        raise InvalidInputError(
            f"invalid limit set: {exc}", errors=[FieldError(["body", "ranges"], str(exc))]
        ) from None


@dataclass(frozen=True, slots=True)
class FoundLimitSet:
    parameter: str
    row: TelemetryLimitSet
    state: TelemetryLimitState | None


async def get_limit_set(
    session: AsyncSession, principal: Principal, spacecraft_id: uuid.UUID, name: str
) -> FoundLimitSet:
    """The parameter's limit set with its running state, or NotFoundError."""
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    parameter = await parameter_of(session, spacecraft_id, name)
    repository = LimitsRepository(session)
    row = await repository.limit_set(spacecraft_id, parameter.id)
    if row is None:
        raise NotFoundError(f"parameter {name!r} has no limit set")
    return FoundLimitSet(parameter.name, row, await repository.state(parameter.id))


async def save_limit_set(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    name: str,
    *,
    ranges: Ranges,
    min_violations: int,
    enabled: bool,
    actor: Actor,
    cache: StatusCache | None = None,
) -> FoundLimitSet:
    """Create or replace the parameter's limit set (effective for the next sample). An
    alarm of a limit set being disabled (or enabled again) leaves (or joins) the health
    (its cached status in ``cache`` is dropped)."""
    spacecraft = await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    parameter = await parameter_of(session, spacecraft_id, name)
    row, state = await _save_limit_set(
        session,
        spacecraft,
        parameter,
        ranges=ranges,
        min_violations=min_violations,
        enabled=enabled,
        actor=actor,
    )
    if telemetry_drives_health(spacecraft):
        await _derive_health(LimitsRepository(session), spacecraft, changed=True, now=utcnow())
        if cache is not None:
            forget_status(session, cache, (spacecraft.organisation_id, spacecraft.id))
    return FoundLimitSet(parameter.name, row, state)


async def _save_limit_set(
    session: AsyncSession,
    spacecraft: Spacecraft,
    parameter: TelemetryParameter,
    *,
    ranges: Ranges,
    min_violations: int,
    enabled: bool,
    actor: Actor,
) -> tuple[TelemetryLimitSet, TelemetryLimitState]:
    if parameter.type not in _LIMITABLE_TYPES:
        raise InvalidInputError(
            f"{parameter.name} is a {parameter.type} parameter; limits need numeric values",
            errors=[FieldError(["path", "parameter"], "not a numeric parameter")],
        )
    _checked_limit_set(ranges, min_violations)
    repository = LimitsRepository(session)
    row = await repository.limit_set(spacecraft.id, parameter.id)
    new = row is None
    if row is None:
        row = TelemetryLimitSet(parameter_id=parameter.id)
    row.ranges = {
        level: {"low": low, "high": high} for level, (low, high) in sorted(ranges.items())
    }
    row.min_violations = min_violations
    row.enabled = enabled
    row.updated_by = actor.user_id
    if new:
        await repository.add(row)
    else:
        await session.flush()
    state = await repository.state(parameter.id)
    if state is None:
        state = TelemetryLimitState(parameter_id=parameter.id, consecutive_violations=0)
        await repository.add(state)
    await _ensure_rule(repository, spacecraft, row, parameter)
    await session.flush()
    await record(
        session,
        actor.event(
            "telemetry.limits_updated",
            object_type="telemetry_parameter",
            object_id=parameter.id,
            spacecraft_id=str(spacecraft.id),
            parameter=parameter.name,
            ranges=row.ranges,
            min_violations=min_violations,
            enabled=enabled,
        ),
    )
    return row, state


async def adopt_default_limits(
    session: AsyncSession,
    spacecraft: Spacecraft,
    parameters: Sequence[TelemetryParameter],
    alarm_ranges: Mapping[str, Ranges],
    *,
    actor: Actor,
) -> list[str]:
    """Give each of ``parameters`` that has none a limit set from its definition's default
    alarm ranges (XTCE ``DefaultAlarm``), so alarms work before anyone edits limits. An
    existing limit set is never replaced: it may hold an operator's tuning. Returns the
    names of the parameters that got one."""
    repository = LimitsRepository(session)
    adopted: list[str] = []
    for parameter in parameters:
        ranges = alarm_ranges.get(parameter.name)
        if not ranges or parameter.type not in _LIMITABLE_TYPES:
            continue
        if await repository.limit_set(spacecraft.id, parameter.id) is not None:
            continue
        try:
            LimitSet.from_mapping(ranges)
        except ValueError as exc:
            raise InvalidInputError(
                f"the default alarm ranges of {parameter.name!r} are not a limit set: {exc}",
                errors=[FieldError(["body", "Parameter", parameter.name], str(exc))],
            ) from None
        await _save_limit_set(
            session,
            spacecraft,
            parameter,
            ranges=ranges,
            min_violations=1,
            enabled=True,
            actor=actor,
        )
        adopted.append(parameter.name)
    return adopted
