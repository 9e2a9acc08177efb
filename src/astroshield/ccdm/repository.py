"""All SQL of the CCDM domain. Element sets are read through the catalog's repository;
this one holds the organisation-bound reads (spacecraft, alert rule)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.models import AlertRule
from astroshield.spacecraft.models import Spacecraft


class CcdmRepository:
    """Bound to one organisation: another organisation's spacecraft is simply not found."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    async def spacecraft(self, spacecraft_id: uuid.UUID) -> Spacecraft | None:
        statement = select(Spacecraft).where(
            Spacecraft.organisation_id == self.organisation_id, Spacecraft.id == spacecraft_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def alert_rule(self, key: str) -> AlertRule | None:
        statement = select(AlertRule).where(
            AlertRule.organisation_id == self.organisation_id, AlertRule.key == key
        )
        return (await self.session.execute(statement)).scalars().first()

    async def add_alert_rule(self, rule: AlertRule) -> AlertRule:
        self.session.add(rule)
        await self.session.flush()
        return rule
