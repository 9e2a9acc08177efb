"""SQL of telemetry limit sets: the sets, their running violation state and the latching
alert rule each one owns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.models import Alert, AlertRule
from astroshield.telemetry.limits_models import TelemetryLimitSet, TelemetryLimitState
from astroshield.telemetry.models import TelemetryParameter


class LimitsRepository:
    """Callers pass spacecraft ids they already resolved for the caller's organisation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_sets(
        self, spacecraft_id: uuid.UUID, parameter_ids: Sequence[int]
    ) -> list[tuple[TelemetryLimitSet, TelemetryLimitState, TelemetryParameter]]:
        """Enabled limit sets of these parameters with their state rows, locked (in
        parameter order, so concurrent batches cannot deadlock) until the commit."""
        statement = (
            select(TelemetryLimitSet, TelemetryLimitState, TelemetryParameter)
            .join(
                TelemetryLimitState,
                TelemetryLimitState.parameter_id == TelemetryLimitSet.parameter_id,
            )
            .join(TelemetryParameter, TelemetryParameter.id == TelemetryLimitSet.parameter_id)
            .where(
                TelemetryParameter.spacecraft_id == spacecraft_id,
                TelemetryLimitSet.parameter_id.in_(parameter_ids),
                TelemetryLimitSet.enabled.is_(True),
            )
            .order_by(TelemetryLimitSet.parameter_id)
            .with_for_update(of=TelemetryLimitState)
        )
        rows = (await self.session.execute(statement)).all()
        return [(limit_set, state, parameter) for limit_set, state, parameter in rows]

    async def limit_set(
        self, spacecraft_id: uuid.UUID, parameter_id: int
    ) -> TelemetryLimitSet | None:
        statement = (
            select(TelemetryLimitSet)
            .join(TelemetryParameter, TelemetryParameter.id == TelemetryLimitSet.parameter_id)
            .where(
                TelemetryParameter.spacecraft_id == spacecraft_id,
                TelemetryLimitSet.parameter_id == parameter_id,
            )
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def state(self, parameter_id: int) -> TelemetryLimitState | None:
        return await self.session.get(TelemetryLimitState, parameter_id)

    async def rule(self, rule_id: uuid.UUID | None) -> AlertRule | None:
        return None if rule_id is None else await self.session.get(AlertRule, rule_id)

    async def add(self, row: TelemetryLimitSet | TelemetryLimitState | AlertRule) -> None:
        self.session.add(row)
        await self.session.flush()

    async def open_alarms(self, spacecraft_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str]]:
        """``(alert id, parameter, level label)`` of the spacecraft's limit alarms whose
        alert is firing or acknowledged (shelving does not change an alert's status), for
        enabled limit sets: an operator who disables a parameter's limits discounts it."""
        statement = (
            select(Alert.id, TelemetryParameter.name, Alert.labels)
            .join(TelemetryLimitSet, TelemetryLimitSet.alert_rule_id == Alert.rule_id)
            .join(TelemetryParameter, TelemetryParameter.id == TelemetryLimitSet.parameter_id)
            .where(
                TelemetryParameter.spacecraft_id == spacecraft_id,
                TelemetryLimitSet.enabled.is_(True),
                Alert.status.in_(("firing", "acknowledged")),
            )
            .order_by(TelemetryParameter.name, Alert.id)
        )
        rows = (await self.session.execute(statement)).all()
        return [(alert_id, name, str(labels.get("level", ""))) for alert_id, name, labels in rows]
