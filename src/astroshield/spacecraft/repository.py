from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.db import escape_like
from astroshield.errors import ConflictError, FieldError
from astroshield.spacecraft.models import Spacecraft, SpacecraftStatusReport

# Which request field a violated unique constraint is about.
_UNIQUE_FIELDS = {
    "uq_spacecraft_organisation_name": "name",
    "uq_spacecraft_organisation_catalog_number": "catalog_number",
}


@dataclass(frozen=True, slots=True)
class SpacecraftFilter:
    mode: str | None = None
    name_contains: str | None = None
    # The health in force at ``now`` (an expired override no longer counts).
    health: str | None = None
    now: datetime | None = None


def health_at(now: datetime) -> ColumnElement[str]:
    """The health in force at ``now``, in SQL: the stored health, unless it was an override
    that has expired since (spacecraft.health.health_now, the same rule in Python)."""
    expired = and_(
        Spacecraft.override_expires_at.is_not(None), Spacecraft.override_expires_at <= now
    )
    behind = func.coalesce(Spacecraft.telemetry_health, Spacecraft.reported_health, "unknown")
    return case((expired, behind), else_=Spacecraft.health)


class SpacecraftRepository:
    """Bound to one organisation: every statement starts from that organisation's rows,
    so another organisation's spacecraft is not found rather than forbidden (no BOLA,
    and no confirmation that it exists)."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    def _readable(self) -> Select[Spacecraft]:
        return select(Spacecraft).where(Spacecraft.organisation_id == self.organisation_id)

    async def get(self, spacecraft_id: uuid.UUID) -> Spacecraft | None:
        statement = self._readable().where(Spacecraft.id == spacecraft_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_catalog_numbers(self, numbers: Sequence[str]) -> Sequence[Spacecraft]:
        """The spacecraft registered as any of these catalog objects (canonical form), by id."""
        statement = (
            self._readable()
            .where(Spacecraft.catalog_number.in_(list(numbers)))
            .order_by(Spacecraft.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def list(
        self, filters: SpacecraftFilter, *, after_id: uuid.UUID | None, limit: int
    ) -> Sequence[Spacecraft]:
        statement = self._readable().order_by(Spacecraft.id).limit(limit)
        if after_id is not None:
            statement = statement.where(Spacecraft.id > after_id)
        if filters.mode is not None:
            statement = statement.where(Spacecraft.mode == filters.mode)
        if filters.name_contains:
            pattern = f"%{escape_like(filters.name_contains)}%"
            statement = statement.where(Spacecraft.name.ilike(pattern, escape="\\"))
        if filters.health is not None and filters.now is not None:
            statement = statement.where(health_at(filters.now) == filters.health)
        return (await self.session.execute(statement)).scalars().all()

    async def get_locked(self, spacecraft_id: uuid.UUID) -> Spacecraft | None:
        """The spacecraft read again and its row held until the commit, so that two
        transactions changing its status one after the other, each sees what the other
        committed (what the session held of the row is replaced). FOR NO KEY UPDATE: rows
        inserted that reference the spacecraft (a telemetry batch) hold a key-share lock on
        it, which FOR UPDATE would wait for, deadlocking two concurrent batches."""
        statement = (
            self._readable()
            .where(Spacecraft.id == spacecraft_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def names(self) -> Sequence[str]:
        statement = select(Spacecraft.name).where(
            Spacecraft.organisation_id == self.organisation_id
        )
        return (await self.session.execute(statement)).scalars().all()

    async def flush(self, spacecraft: Spacecraft) -> Spacecraft:
        """Write pending changes now so constraint violations surface as domain errors."""
        self.session.add(spacecraft)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise _conflict(exc) from None
        return spacecraft

    async def delete(self, spacecraft_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Spacecraft).where(
                Spacecraft.id == spacecraft_id, Spacecraft.organisation_id == self.organisation_id
            )
        )

    async def add_status_report(self, report: SpacecraftStatusReport) -> SpacecraftStatusReport:
        self.session.add(report)
        await self.session.flush()
        return report

    async def list_status_reports(
        self,
        spacecraft_id: uuid.UUID,
        *,
        start: datetime | None,
        stop: datetime | None,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[SpacecraftStatusReport]:
        """Newest first, keyset on (reported_at, id) so late-arriving reports sort by time."""
        report = SpacecraftStatusReport
        statement = (
            select(report)
            .where(report.spacecraft_id == spacecraft_id)
            .order_by(report.reported_at.desc(), report.id.desc())
            .limit(limit)
        )
        if before is not None:
            reported_at, report_id = before
            statement = statement.where(
                or_(
                    report.reported_at < reported_at,
                    and_(report.reported_at == reported_at, report.id < report_id),
                )
            )
        if start is not None:
            statement = statement.where(report.reported_at >= start)
        if stop is not None:
            statement = statement.where(report.reported_at < stop)
        return (await self.session.execute(statement)).scalars().all()


def _conflict(exc: IntegrityError) -> ConflictError:
    message = str(exc.orig)
    for constraint, field in _UNIQUE_FIELDS.items():
        if constraint in message or f"spacecraft.organisation_id, spacecraft.{field}" in message:
            return ConflictError(
                f"another spacecraft of this organisation has this {field}",
                errors=[FieldError(["body", field], "already registered")],
            )
    return ConflictError("the change conflicts with existing data")
