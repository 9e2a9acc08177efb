"""All SQL of CCDM: stored manoeuvre detections, stored intent categories, and the few
platform-wide reads the catalog follow-up needs (public history, owners of an object).

Reads of one organisation's data start from that organisation (``organisation_id``), so
another organisation's assessments are simply not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.catalog.models import CatalogObject, ElementSetRecord
from astroshield.ccdm.models import IntentAssessmentRecord, ManeuverDetectionRecord
from astroshield.errors import ConflictError
from astroshield.spacecraft.models import Spacecraft

# Bound parameters per statement stay far below SQLite's and PostgreSQL's limits.
_IN_LIST_CHUNK = 5_000
# Catalog object types (astroshield.catalog.service.object_type_from_name) that do not
# manoeuvre: the detector would only report their drag and fit noise.
_NON_MANOEUVRING = ("DEBRIS", "ROCKET BODY")


def _chunks(items: Sequence[str], size: int = _IN_LIST_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DetectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        if self.session.get_bind().dialect.name == "postgresql":
            return postgresql.insert(ManeuverDetectionRecord)
        return sqlite.insert(ManeuverDetectionRecord)

    async def insert_new(self, row: Mapping[str, Any]) -> uuid.UUID | None:
        """Store one detection unless its (scope, catalog_number, interval) is stored;
        the new row's id, or None when it was there already (also when a concurrent
        detector stored it first: the unique indexes decide)."""
        statement = (
            self._insert()
            .values(**row)
            .on_conflict_do_nothing()
            .returning(ManeuverDetectionRecord.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def intervals(
        self, organisation_id: uuid.UUID | None, catalog_number: str
    ) -> list[tuple[datetime, datetime]]:
        """The stored burn intervals of one object in one scope."""
        record = ManeuverDetectionRecord
        scope = (
            record.organisation_id.is_(None)
            if organisation_id is None
            else record.organisation_id == organisation_id
        )
        statement = select(record.interval_start, record.interval_stop).where(
            scope, record.catalog_number == catalog_number
        )
        return [(start, stop) for start, stop in await self.session.execute(statement)]

    async def visible(
        self, organisation_id: uuid.UUID, catalog_number: str
    ) -> Sequence[ManeuverDetectionRecord]:
        """Detections of one object the organisation may read: public ones and its own."""
        record = ManeuverDetectionRecord
        statement = (
            select(record)
            .where(
                record.catalog_number == catalog_number,
                or_(record.organisation_id.is_(None), record.organisation_id == organisation_id),
            )
            .order_by(record.interval_start, record.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    # --------------------------------------------------------- platform-wide reads

    async def public_history(
        self, catalog_number: str, start: datetime, stop: datetime
    ) -> Sequence[ElementSetRecord]:
        """Public element sets of one object with ``start <= epoch <= stop``, ascending."""
        record = ElementSetRecord
        statement = (
            select(record)
            .where(
                record.organisation_id.is_(None),
                record.catalog_number == catalog_number,
                record.epoch >= start,
                record.epoch <= stop,
            )
            .order_by(record.epoch)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def public_history_sizes(
        self, catalog_numbers: Sequence[str]
    ) -> dict[str, tuple[int, datetime]]:
        """Per object: how many public sets it has and the newest epoch (objects with none
        are left out). One grouped query per chunk, so a follow-up of a whole-catalog
        import skips the objects with too little history cheaply."""
        record = ElementSetRecord
        sizes: dict[str, tuple[int, datetime]] = {}
        for chunk in _chunks(sorted(set(catalog_numbers))):
            statement = (
                select(record.catalog_number, func.count(), func.max(record.epoch))
                .where(
                    record.organisation_id.is_(None),
                    record.catalog_number.in_(list(chunk)),
                )
                .group_by(record.catalog_number)
            )
            for number, count, newest in await self.session.execute(statement):
                sizes[number] = (int(count), newest)
        return sizes

    async def debris_numbers(self, catalog_numbers: Sequence[str]) -> set[str]:
        """Those of ``catalog_numbers`` the public catalog names debris or rocket bodies."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(catalog_numbers))):
            statement = select(CatalogObject.catalog_number).where(
                CatalogObject.catalog_number.in_(list(chunk)),
                CatalogObject.object_type.in_(_NON_MANOEUVRING),
            )
            found.update((await self.session.execute(statement)).scalars().all())
        return found

    async def owners(self, catalog_number: str) -> list[uuid.UUID]:
        """Organisations that registered a spacecraft with this catalog number."""
        statement = (
            select(Spacecraft.organisation_id)
            .where(Spacecraft.catalog_number == catalog_number)
            .distinct()
        )
        return sorted((await self.session.execute(statement)).scalars().all())

    async def spacecraft_numbered(self, catalog_numbers: Sequence[str]) -> list[Spacecraft]:
        """Every organisation's spacecraft registered under any of ``catalog_numbers``."""
        found: list[Spacecraft] = []
        for chunk in _chunks(sorted(set(catalog_numbers))):
            statement = select(Spacecraft).where(Spacecraft.catalog_number.in_(list(chunk)))
            found.extend((await self.session.execute(statement)).scalars().all())
        return sorted(found, key=lambda item: (item.organisation_id, item.id))

    async def spacecraft_with_numbers(self, organisation_id: uuid.UUID | None) -> list[Spacecraft]:
        """Every spacecraft with a catalog number: of one organisation, or of all (None)."""
        statement = select(Spacecraft).where(Spacecraft.catalog_number.is_not(None))
        if organisation_id is not None:
            statement = statement.where(Spacecraft.organisation_id == organisation_id)
        statement = statement.order_by(Spacecraft.organisation_id, Spacecraft.id)
        return list((await self.session.execute(statement)).scalars().all())


class IntentRepository:
    """Stored intent categories of one organisation."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    async def get(
        self, spacecraft_id: uuid.UUID, catalog_number: str
    ) -> IntentAssessmentRecord | None:
        record = IntentAssessmentRecord
        statement = select(record).where(
            record.organisation_id == self.organisation_id,
            record.spacecraft_id == spacecraft_id,
            record.catalog_number == catalog_number,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    def add(self, row: IntentAssessmentRecord) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError:
            raise ConflictError("another request is assessing this pair; ask again") from None


async def assessed_pairs_involving(
    session: AsyncSession, catalog_numbers: Sequence[str]
) -> list[tuple[IntentAssessmentRecord, Spacecraft]]:
    """Every organisation's stored assessments whose object, or whose spacecraft's own
    catalog number, is one of ``catalog_numbers`` (platform-wide: the catalog follow-up
    re-assesses them for their own organisations)."""
    record = IntentAssessmentRecord
    pairs: list[tuple[IntentAssessmentRecord, Spacecraft]] = []
    seen: set[uuid.UUID] = set()
    for chunk in _chunks(sorted(set(catalog_numbers))):
        statement = (
            select(record, Spacecraft)
            .join(Spacecraft, Spacecraft.id == record.spacecraft_id)
            .where(
                Spacecraft.organisation_id == record.organisation_id,
                or_(
                    record.catalog_number.in_(list(chunk)),
                    Spacecraft.catalog_number.in_(list(chunk)),
                ),
            )
        )
        for assessment, spacecraft in await session.execute(statement):
            if assessment.id not in seen:
                seen.add(assessment.id)
                pairs.append((assessment, spacecraft))
    return sorted(pairs, key=lambda pair: (pair[0].organisation_id, pair[0].id))
