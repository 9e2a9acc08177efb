from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.conjunction.models import (
    ConjunctionCdm,
    ConjunctionEvent,
    ConjunctionScreening,
    EventStatus,
    ScreeningStatus,
)
from astroshield.conjunction.schemas import EventFilter
from astroshield.errors import ConflictError, FieldError


class ConjunctionRepository:
    """Bound to one organisation: every read starts from that organisation's rows, so
    another organisation's event is not found rather than forbidden."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    # ------------------------------------------------------------------------ events
    def _events(self) -> Select[ConjunctionEvent]:
        return select(ConjunctionEvent).where(
            ConjunctionEvent.organisation_id == self.organisation_id
        )

    async def get_event(self, event_id: uuid.UUID) -> ConjunctionEvent | None:
        statement = self._events().where(ConjunctionEvent.id == event_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def find_event(
        self, primary: str, secondary: str, tca: datetime, window: timedelta
    ) -> ConjunctionEvent | None:
        """The event of this pair whose TCA is nearest ``tca`` within ``window``."""
        event = ConjunctionEvent
        statement = self._events().where(
            event.primary_catalog_number == primary,
            event.secondary_catalog_number == secondary,
            event.tca >= tca - window,
            event.tca <= tca + window,
        )
        candidates = (await self.session.execute(statement)).scalars().all()
        if not candidates:
            return None
        return min(candidates, key=lambda row: abs((row.tca - tca).total_seconds()))

    async def add_event(self, event: ConjunctionEvent) -> ConjunctionEvent:
        self.session.add(event)
        try:
            await self.session.flush()
        except IntegrityError:
            raise ConflictError(
                "another request is opening this conjunction event; send the CDM again"
            ) from None
        return event

    async def list_events(
        self,
        filters: EventFilter,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[ConjunctionEvent]:
        """Ordered by TCA (then id), keyset on (tca, id)."""
        event = ConjunctionEvent
        statement = self._events().order_by(event.tca, event.id).limit(limit)
        if after is not None:
            tca, event_id = after
            statement = statement.where(
                or_(event.tca > tca, and_(event.tca == tca, event.id > event_id))
            )
        if filters.tier is not None:
            statement = statement.where(event.tier == filters.tier)
        if filters.spacecraft_id is not None:
            statement = statement.where(event.spacecraft_id == filters.spacecraft_id)
        if filters.tca_after is not None:
            statement = statement.where(event.tca >= filters.tca_after)
        if filters.tca_before is not None:
            statement = statement.where(event.tca < filters.tca_before)
        if filters.state is not None:
            statement = statement.where(event.status == filters.state)
        return (await self.session.execute(statement)).scalars().all()

    async def passed_open_events(self, now: datetime) -> Sequence[ConjunctionEvent]:
        statement = _passed_open(self._events(), now)
        return (await self.session.execute(statement)).scalars().all()

    async def latest_open_event_between(
        self, first: str, second: str, now: datetime
    ) -> ConjunctionEvent | None:
        """The most recently updated open event of the pair (either one primary) whose TCA
        is still ahead."""
        event = ConjunctionEvent
        statement = (
            self._events()
            .where(
                or_(
                    and_(
                        event.primary_catalog_number == first,
                        event.secondary_catalog_number == second,
                    ),
                    and_(
                        event.primary_catalog_number == second,
                        event.secondary_catalog_number == first,
                    ),
                ),
                event.status == EventStatus.OPEN.value,
                event.tca >= now,
            )
            .order_by(event.updated_at.desc(), event.id.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def flush(self) -> None:
        await self.session.flush()

    # -------------------------------------------------------------------------- CDMs
    async def cdm_by_message_id(self, message_id: str) -> ConjunctionCdm | None:
        statement = select(ConjunctionCdm).where(
            ConjunctionCdm.organisation_id == self.organisation_id,
            ConjunctionCdm.message_id == message_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_cdm(self, cdm: ConjunctionCdm) -> ConjunctionCdm:
        self.session.add(cdm)
        try:
            await self.session.flush()
        except IntegrityError:
            raise ConflictError(
                "a CDM with this MESSAGE_ID is being stored by another request",
                errors=[FieldError(["body", "MESSAGE_ID"], "already being stored")],
            ) from None
        return cdm

    async def cdms_of_event(self, event_id: uuid.UUID) -> Sequence[ConjunctionCdm]:
        """Oldest first by CREATION_DATE (the order the originator issued them)."""
        statement = (
            select(ConjunctionCdm)
            .where(
                ConjunctionCdm.organisation_id == self.organisation_id,
                ConjunctionCdm.event_id == event_id,
            )
            .order_by(ConjunctionCdm.creation_date, ConjunctionCdm.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def latest_cdm(self, event_id: uuid.UUID) -> ConjunctionCdm | None:
        statement = (
            select(ConjunctionCdm)
            .where(
                ConjunctionCdm.organisation_id == self.organisation_id,
                ConjunctionCdm.event_id == event_id,
            )
            .order_by(ConjunctionCdm.creation_date.desc(), ConjunctionCdm.id.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_cdm(self, event_id: uuid.UUID, cdm_id: uuid.UUID) -> ConjunctionCdm | None:
        statement = select(ConjunctionCdm).where(
            ConjunctionCdm.organisation_id == self.organisation_id,
            ConjunctionCdm.event_id == event_id,
            ConjunctionCdm.id == cdm_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    # -------------------------------------------------------------------- screenings
    async def add_screening(self, screening: ConjunctionScreening) -> ConjunctionScreening:
        self.session.add(screening)
        await self.session.flush()
        return screening

    async def get_screening(self, screening_id: uuid.UUID) -> ConjunctionScreening | None:
        statement = select(ConjunctionScreening).where(
            ConjunctionScreening.organisation_id == self.organisation_id,
            ConjunctionScreening.id == screening_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()


def _passed_open(statement: Select[ConjunctionEvent], now: datetime) -> Select[ConjunctionEvent]:
    return statement.where(
        ConjunctionEvent.status == EventStatus.OPEN.value, ConjunctionEvent.tca < now
    ).order_by(ConjunctionEvent.id)


class UpkeepRepository:
    """Across organisations, for the service's own upkeep (start-up recovery, the periodic
    step); no request reaches it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def passed_open_events(self, now: datetime) -> Sequence[ConjunctionEvent]:
        statement = _passed_open(select(ConjunctionEvent), now)
        return (await self.session.execute(statement)).scalars().all()

    async def fail_unfinished_screenings(self, reason: str, now: datetime) -> int:
        result = await self.session.execute(
            update(ConjunctionScreening)
            .where(
                ConjunctionScreening.status.in_(
                    (ScreeningStatus.QUEUED.value, ScreeningStatus.RUNNING.value)
                )
            )
            .values(status=ScreeningStatus.FAILED.value, error=reason, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
