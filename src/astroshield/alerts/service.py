"""Alert lifecycle on top of the engine: persisted state, history, operator actions."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts import engine
from astroshield.alerts.links import AlertLinks
from astroshield.alerts.models import Alert, AlertEvent, AlertRule, DeadLetter
from astroshield.alerts.notifiers import Notification
from astroshield.alerts.repository import AlertFilter, AlertRepository, Visibility
from astroshield.alerts.schemas import RuleCreate
from astroshield.audit.service import Actor, record
from astroshield.errors import ConflictError, NotFoundError
from astroshield.events.service import emit
from astroshield.observability.domain_metrics import ALERT_CHANGES, count_after_commit
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope


def to_rule(row: AlertRule) -> engine.Rule:
    return engine.Rule(
        key=row.key,
        metric=row.metric,
        comparison=engine.Comparison(row.comparison),
        thresholds={engine.Severity(k): float(v) for k, v in row.thresholds.items()},
        clear=row.clear_threshold,
        for_s=row.for_s,
        labels=dict(row.labels),
        description=row.description or "",
        latching=bool(row.latching),
    )


def to_state(alert: Alert) -> engine.AlertState:
    return engine.AlertState(
        status=engine.AlertStatus(alert.status),
        severity=engine.Severity(alert.severity) if alert.severity else None,
        value=alert.value,
        pending_since=alert.pending_since,
        fired_at=alert.fired_at,
        resolved_at=alert.resolved_at,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        ack_comment=alert.ack_comment,
        shelved_until=alert.shelved_until,
    )


def _store(alert: Alert, state: engine.AlertState) -> None:
    alert.status = state.status.value
    alert.severity = state.severity.value if state.severity else None
    alert.value = state.value
    alert.pending_since = state.pending_since
    alert.fired_at = state.fired_at
    alert.resolved_at = state.resolved_at
    alert.acknowledged_by = state.acknowledged_by
    alert.acknowledged_at = state.acknowledged_at
    alert.ack_comment = state.ack_comment
    alert.shelved_until = state.shelved_until


def dedup_key(rule_id: uuid.UUID, labels: dict[str, str]) -> str:
    """One alert per rule and label set, however often it is observed."""
    canonical = json.dumps([str(rule_id), sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _event(
    repository: AlertRepository,
    alert: Alert,
    change: engine.Change,
    now: datetime,
    *,
    actor: str | None = None,
    comment: str | None = None,
) -> None:
    await repository.add(
        AlertEvent(
            alert_id=alert.id,
            organisation_id=alert.organisation_id,
            occurred_at=now,
            change=change.value,
            status=alert.status,
            severity=alert.severity,
            value=alert.value,
            actor=actor,
            comment=comment,
        )
    )
    count_after_commit(repository.session, ALERT_CHANGES.labels(change.value))
    if alert.organisation_id is not None:  # platform alerts (the service itself) are not events
        await emit(
            repository.session,
            alert.organisation_id,
            "alert.changed",
            alert.id,
            {
                "alert_id": alert.id,
                "rule_id": alert.rule_id,
                "change": change.value,
                "status": alert.status,
                "severity": alert.severity,
                "value": alert.value,
                "labels": alert.labels,
            },
        )


def notification_for(
    rule: AlertRule, alert: Alert, change: engine.Change, now: datetime
) -> Notification:
    return Notification(
        rule=rule.key,
        change=change.value,
        status=alert.status,
        severity=alert.severity,
        value=alert.value,
        labels=dict(alert.labels),
        occurred_at=now,
        description=rule.description or rule.name,
        id=f"{alert.id}:{change.value}:{int(now.timestamp() * 1000)}",
    )


@dataclass(frozen=True)
class Observation:
    alert: Alert | None  # None while a quiet rule has never had an alert
    change: engine.Change | None
    notification: Notification | None


async def observe(
    session: AsyncSession,
    rule: AlertRule,
    value: float,
    now: datetime,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Notification | None:
    """Feed one observation of ``rule``'s metric; returns a notification when people must
    be told (fired, escalated, resolved, and not shelved)."""
    observed = await observe_alert(
        session, rule, value, now, labels=labels, annotations=annotations
    )
    return observed.notification


async def observe_alert(
    session: AsyncSession,
    rule: AlertRule,
    value: float,
    now: datetime,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Observation:
    """:func:`observe`, also telling which alert changed and how. ``labels`` identify the
    alert (one per rule and label set); ``annotations`` are shown with it (e.g. the limit
    level of a telemetry alarm) but do not make a new alert when they change."""
    repository = AlertRepository(session)
    all_labels = {**rule.labels, **(labels or {})}
    key = dedup_key(rule.id, all_labels)
    alert = await repository.by_dedup_key(key)
    previous = to_state(alert) if alert is not None else engine.AlertState()
    state, change = engine.evaluate(to_rule(rule), previous, value, now)
    if alert is None:
        if change is None:
            return Observation(None, None, None)  # a quiet rule leaves no row behind
        alert = Alert(
            rule_id=rule.id,
            organisation_id=rule.organisation_id,
            dedup_key=key,
            labels={**all_labels, **(annotations or {})},
        )
        _store(alert, state)
        await repository.add(alert)
    _store(alert, state)
    if annotations and any(alert.labels.get(k) != v for k, v in annotations.items()):
        alert.labels = {**alert.labels, **annotations}
    if change is None:
        await repository.flush()
        return Observation(alert, None, None)

    await _event(repository, alert, change, now)
    if engine.should_notify(state, change, now):
        return Observation(alert, change, notification_for(rule, alert, change, now))
    return Observation(alert, change, None)


# ----------------------------------------------------------------- operator requests


def visibility_of(principal: Principal) -> Visibility:
    """Platform alerts (no organisation) only for platform administrators."""
    return Visibility(principal.organisation_id, principal.has(Scope.ORGANISATIONS_ADMIN))


async def list_alerts(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    severity: str | None,
    rule_key: str | None,
    links: AlertLinks | None = None,
    after_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Alert]:
    """Newest first; ``links`` keeps only the alerts about that spacecraft, event, parameter."""
    about = links or AlertLinks(spacecraft_id=None, event_id=None, parameter=None)
    return await AlertRepository(session).list(
        visibility_of(principal),
        AlertFilter(
            status=status,
            severity=severity,
            rule_key=rule_key,
            spacecraft_id=about.spacecraft_id,
            event_id=about.event_id,
            parameter=about.parameter,
        ),
        after_id=after_id,
        limit=limit,
    )


async def _visible_alert(
    repository: AlertRepository, alert_id: uuid.UUID, visibility: Visibility
) -> Alert:
    alert = await repository.get(alert_id, visibility)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} not found")
    return alert


@dataclass(frozen=True)
class AlertWithHistory:
    alert: Alert
    history: Sequence[AlertEvent]  # newest first


async def get_alert(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID
) -> AlertWithHistory:
    repository = AlertRepository(session)
    alert = await _visible_alert(repository, alert_id, visibility_of(principal))
    return AlertWithHistory(alert, await repository.events(alert.id))


async def latest_event_id(session: AsyncSession) -> int:
    """Where a new live stream starts: after every change stored so far."""
    return await AlertRepository(session).last_event_id()


async def events_after(
    session: AsyncSession, principal: Principal, after_id: int
) -> Sequence[AlertEvent]:
    """The next changes the caller may see after event ``after_id``, oldest first."""
    return await AlertRepository(session).events_after(visibility_of(principal), after_id)


async def list_rules(session: AsyncSession, principal: Principal) -> Sequence[AlertRule]:
    return await AlertRepository(session).list_rules(visibility_of(principal))


async def create_rule(
    session: AsyncSession, principal: Principal, data: RuleCreate, *, actor: Actor
) -> AlertRule:
    """A rule of the caller's organisation (its metric is fed by that organisation's data)."""
    row = AlertRule(organisation_id=principal.organisation_id, builtin=False, **data.model_dump())
    await AlertRepository(session).add(row)
    await record(
        session,
        actor.event("alert_rule.created", object_type="alert_rule", object_id=row.id, key=row.key),
    )
    return row


async def delete_rule(
    session: AsyncSession, principal: Principal, rule_id: uuid.UUID, *, actor: Actor
) -> None:
    repository = AlertRepository(session)
    # Only the organisation's own rules; built-in platform rules are changed by settings.
    own = Visibility(principal.organisation_id, platform=False)
    rule = await repository.get_rule(rule_id, own)
    if rule is None:
        raise NotFoundError(f"alert rule {rule_id} not found")
    await repository.delete_rule(rule)
    await record(
        session, actor.event("alert_rule.deleted", object_type="alert_rule", object_id=rule_id)
    )


async def acknowledge(
    session: AsyncSession,
    principal: Principal,
    alert_id: uuid.UUID,
    *,
    comment: str | None,
    actor: Actor,
    now: datetime,
) -> Alert:
    repository = AlertRepository(session)
    alert = await _visible_alert(repository, alert_id, visibility_of(principal))
    rule = await repository.rule(alert.rule_id)
    state, change = engine.acknowledge(
        to_state(alert),
        by=actor.user_id or "unknown",
        comment=comment,
        now=now,
        rule=to_rule(rule) if rule is not None else None,
    )
    if change is None:
        raise ConflictError(f"only a firing alert can be acknowledged; this one is {alert.status}")
    if change is engine.Change.RESOLVED:
        # A latched alert whose value is back: the acknowledgement ends it. Both are history.
        _store(alert, replace(state, status=engine.AlertStatus.ACKNOWLEDGED, resolved_at=None))
        await _event(
            repository, alert, engine.Change.ACKNOWLEDGED, now, actor=actor.user_id, comment=comment
        )
    _store(alert, state)
    await _event(repository, alert, change, now, actor=actor.user_id, comment=comment)
    await record(
        session, actor.event("alert.acknowledged", object_type="alert", object_id=alert.id)
    )
    return alert


async def shelve(
    session: AsyncSession,
    principal: Principal,
    alert_id: uuid.UUID,
    *,
    duration: timedelta | None,
    actor: Actor,
    now: datetime,
) -> Alert:
    """Shelve for ``duration`` (silence notifications), or unshelve when None."""
    repository = AlertRepository(session)
    alert = await _visible_alert(repository, alert_id, visibility_of(principal))
    if duration is None:
        state, change = engine.unshelve(to_state(alert))
    else:
        state, change = engine.shelve(to_state(alert), until=now + duration)
    _store(alert, state)
    await _event(repository, alert, change, now, actor=actor.user_id)
    await record(
        session,
        actor.event(
            f"alert.{change.value}",
            object_type="alert",
            object_id=alert.id,
            until=alert.shelved_until.isoformat() if alert.shelved_until else None,
        ),
    )
    return alert


async def record_dead_letter(
    session: AsyncSession, notification: Notification, notifier: str, reason: str
) -> None:
    """Keep a notification no route could deliver, for an operator to look at."""
    await AlertRepository(session).add(
        DeadLetter(
            notifier=notifier,
            reason=reason[:500],
            notification_id=notification.id,
            payload=json.loads(notification.to_json()),
        )
    )


# ------------------------------------------------------------------------ built-in rules


@dataclass(frozen=True)
class BuiltinRule:
    key: str
    name: str
    metric: str
    comparison: str
    thresholds: dict[str, float]
    clear: float
    for_s: float
    description: str


def _levels(warning: float, critical_margin: float) -> dict[str, float]:
    """Warning at the setting, critical ``critical_margin`` above it when that is still a
    reachable percentage."""
    levels = {"warning": warning}
    if warning + critical_margin < 100:
        levels["critical"] = warning + critical_margin
    return levels


def builtin_rules(
    *,
    error_rate_per_minute: float,
    p95_latency_ms: float,
    memory_percent: float,
    cpu_percent: float,
) -> list[BuiltinRule]:
    """The service's own health, as the seed asked: errors, latency, resources, database."""
    return [
        BuiltinRule(
            "error-rate",
            "Server error rate",
            "http_errors_per_minute",
            "above",
            {"warning": error_rate_per_minute},
            error_rate_per_minute * 0.8,
            60,
            "5xx answers and unhandled exceptions per minute",
        ),
        BuiltinRule(
            "latency-p95",
            "Request latency p95",
            "http_latency_p95_ms",
            "above",
            {"warning": p95_latency_ms},
            p95_latency_ms * 0.8,
            120,
            "95th percentile of request latency",
        ),
        BuiltinRule(
            "memory",
            "Memory usage",
            "system_memory_percent",
            "above",
            _levels(memory_percent, 5),
            memory_percent - 5,
            60,
            "memory in use on the host",
        ),
        BuiltinRule(
            "cpu",
            "CPU usage",
            "system_cpu_percent",
            "above",
            _levels(cpu_percent, 15),
            cpu_percent - 10,
            120,
            "CPU busy on the host",
        ),
        BuiltinRule(
            "database",
            "Database reachable",
            "database_up",
            "below",
            {"critical": 0.5},
            0.5,
            0,
            "the database answers a new connection",
        ),
    ]


async def ensure_builtin_rules(session: AsyncSession, rules: list[BuiltinRule]) -> None:
    """Create the platform rules that are missing and keep their thresholds in step with
    settings (operators change them through settings, not by editing rows)."""
    repository = AlertRepository(session)
    for spec in rules:
        row = await repository.platform_rule(spec.key)
        if row is None:
            row = AlertRule(
                organisation_id=None,
                key=spec.key,
                builtin=True,
                enabled=True,
                labels={"scope": "platform"},
            )
            repository.stage(row)
        _apply(row, spec)
    await repository.flush()


def _apply(row: AlertRule, spec: BuiltinRule) -> None:
    row.name, row.metric, row.comparison = spec.name, spec.metric, spec.comparison
    row.thresholds, row.clear_threshold, row.for_s = spec.thresholds, spec.clear, spec.for_s
    row.description = spec.description


async def organisation_rule(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    spec: BuiltinRule,
    *,
    labels: dict[str, str],
) -> AlertRule:
    """The organisation's built-in rule for a domain's events (conjunction Pc, CCDM threat),
    created on first use. Like the platform rules it follows ``spec``, so a threshold changed
    in code reaches organisations that already have the rule; ``labels`` are set only at
    creation, as they identify the rule's existing alerts."""
    repository = AlertRepository(session)
    row = await repository.organisation_rule(organisation_id, spec.key)
    if row is None:
        row = AlertRule(
            organisation_id=organisation_id,
            key=spec.key,
            builtin=True,
            enabled=True,
            labels=labels,
        )
        repository.stage(row)
    _apply(row, spec)
    await repository.flush()
    return row
