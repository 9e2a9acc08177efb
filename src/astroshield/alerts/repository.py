from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.links import EVENT_LABEL, PARAMETER_LABEL, SPACECRAFT_LABELS
from astroshield.alerts.models import Alert, AlertEvent, AlertRule, DeadLetter
from astroshield.db import try_transaction_lock

_EVALUATOR_LOCK_KEY = 0x414C5254  # "ALRT"


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a caller may see: its organisation's alerts, and platform alerts (no
    organisation) only for platform administrators."""

    organisation_id: uuid.UUID
    platform: bool


@dataclass(frozen=True, slots=True)
class AlertFilter:
    status: str | None = None
    severity: str | None = None
    rule_key: str | None = None
    spacecraft_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    parameter: str | None = None


def _label(key: str) -> ColumnElement[str]:
    value: ColumnElement[str] = Alert.labels[key].as_string()
    return value


def _linked(statement: Select[Alert], filters: AlertFilter) -> Select[Alert]:
    """Narrow to the alerts about one spacecraft, event or parameter (links live in labels;
    the visibility condition already keeps other organisations' alerts out)."""
    if filters.spacecraft_id is not None:
        wanted = str(filters.spacecraft_id)
        statement = statement.where(or_(*(_label(key) == wanted for key in SPACECRAFT_LABELS)))
    if filters.event_id is not None:
        statement = statement.where(_label(EVENT_LABEL) == str(filters.event_id))
    if filters.parameter is not None:
        statement = statement.where(_label(PARAMETER_LABEL) == filters.parameter)
    return statement


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_evaluator_lock(self) -> bool:
        """One evaluator per cycle across replicas sharing PostgreSQL."""
        return await try_transaction_lock(self.session, _EVALUATOR_LOCK_KEY)

    # rules ------------------------------------------------------------------------------
    async def enabled_rules(self) -> Sequence[AlertRule]:
        statement = select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
        return (await self.session.execute(statement)).scalars().all()

    async def platform_rule(self, key: str) -> AlertRule | None:
        statement = select(AlertRule).where(
            AlertRule.organisation_id.is_(None), AlertRule.key == key
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def organisation_rule(self, organisation_id: uuid.UUID, key: str) -> AlertRule | None:
        statement = (
            select(AlertRule)
            .where(AlertRule.organisation_id == organisation_id, AlertRule.key == key)
            .order_by(AlertRule.id)
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    def _rules_visible(self, visibility: Visibility) -> Select[AlertRule]:
        condition = AlertRule.organisation_id == visibility.organisation_id
        if visibility.platform:
            condition = or_(condition, AlertRule.organisation_id.is_(None))
        return select(AlertRule).where(condition)

    async def list_rules(self, visibility: Visibility) -> Sequence[AlertRule]:
        statement = self._rules_visible(visibility).order_by(AlertRule.id)
        return (await self.session.execute(statement)).scalars().all()

    async def get_rule(self, rule_id: uuid.UUID, visibility: Visibility) -> AlertRule | None:
        statement = self._rules_visible(visibility).where(AlertRule.id == rule_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def rule(self, rule_id: uuid.UUID) -> AlertRule | None:
        """Any rule by id: for an alert already known to be visible, its own rule."""
        return await self.session.get(AlertRule, rule_id)

    async def add(self, row: AlertRule | Alert | AlertEvent | DeadLetter) -> None:
        self.session.add(row)
        await self.session.flush()

    def stage(self, row: AlertRule) -> None:
        """Add without writing yet: the caller completes the row, then :meth:`flush`."""
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    async def delete_rule(self, rule: AlertRule) -> None:
        await self.session.delete(rule)
        await self.session.flush()

    # alerts -----------------------------------------------------------------------------
    async def by_dedup_key(self, dedup_key: str) -> Alert | None:
        statement = select(Alert).where(Alert.dedup_key == dedup_key)
        return (await self.session.execute(statement)).scalar_one_or_none()

    def _visible(self, visibility: Visibility) -> Select[Alert]:
        condition = Alert.organisation_id == visibility.organisation_id
        if visibility.platform:
            condition = or_(condition, Alert.organisation_id.is_(None))
        return select(Alert).where(condition)

    async def get(self, alert_id: uuid.UUID, visibility: Visibility) -> Alert | None:
        statement = self._visible(visibility).where(Alert.id == alert_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list(
        self,
        visibility: Visibility,
        filters: AlertFilter,
        *,
        after_id: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Alert]:
        statement = self._visible(visibility).order_by(Alert.id.desc()).limit(limit)
        if after_id is not None:
            statement = statement.where(Alert.id < after_id)
        if filters.status is not None:
            statement = statement.where(Alert.status == filters.status)
        if filters.severity is not None:
            statement = statement.where(Alert.severity == filters.severity)
        if filters.rule_key is not None:
            statement = statement.join(AlertRule, AlertRule.id == Alert.rule_id).where(
                AlertRule.key == filters.rule_key
            )
        return (await self.session.execute(_linked(statement, filters))).scalars().all()

    async def firing_counts(self) -> dict[str, int]:
        statement = select(Alert.severity).where(Alert.status.in_(("firing", "acknowledged")))
        counts: dict[str, int] = {}
        for severity in (await self.session.execute(statement)).scalars():
            counts[severity or "info"] = counts.get(severity or "info", 0) + 1
        return counts

    # history ----------------------------------------------------------------------------
    async def events(self, alert_id: uuid.UUID, limit: int = 200) -> Sequence[AlertEvent]:
        statement = (
            select(AlertEvent)
            .where(AlertEvent.alert_id == alert_id)
            .order_by(AlertEvent.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def events_after(
        self, visibility: Visibility, after_id: int, limit: int = 100
    ) -> Sequence[AlertEvent]:
        condition = AlertEvent.organisation_id == visibility.organisation_id
        if visibility.platform:
            condition = or_(condition, AlertEvent.organisation_id.is_(None))
        statement = (
            select(AlertEvent)
            .where(and_(AlertEvent.id > after_id, condition))
            .order_by(AlertEvent.id)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def last_event_id(self) -> int:
        statement = select(AlertEvent.id).order_by(AlertEvent.id.desc()).limit(1)
        return (await self.session.execute(statement)).scalar_one_or_none() or 0
