from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.ids import normalize_catalog_number
from astroshield.catalog.models import CatalogObject, ElementSetRecord
from astroshield.spacecraft.models import Spacecraft

# Bound parameters per statement stay far below SQLite's 32,766 and PostgreSQL's 32,767.
_IN_LIST_CHUNK = 5_000

_OBJECTS = CatalogObject.__table__
_ELEMENT_SETS = ElementSetRecord.__table__
_OBJECT_IDENTITY_COLUMNS = ("object_id", "name", "object_type")
_OBJECT_SUMMARY_COLUMNS = (
    "epoch",
    "regime",
    "perigee_altitude_km",
    "apogee_altitude_km",
    "inclination_deg",
    "period_min",
)


@dataclass(frozen=True, slots=True)
class CatalogFilter:
    """``catalog_number``, ``designator_prefix`` and ``name_contains`` are alternatives (a
    search box); the orbit bounds must all hold."""

    catalog_number: str | None = None
    designator_prefix: str | None = None
    name_contains: str | None = None
    regime: str | None = None
    min_perigee_km: float | None = None
    max_apogee_km: float | None = None
    min_inclination_deg: float | None = None
    max_inclination_deg: float | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _numeric_order(catalog_number: str) -> tuple[int, str]:
    # Canonical catalog numbers have no leading zeros, so (length, text) sorts numerically.
    return len(catalog_number), catalog_number


class CatalogRepository:
    """All SQL of the catalog. Catalog numbers may be given in any accepted form (``"A0001"``,
    ``"00005"``); they are normalised before use. Times are timezone-aware UTC."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ element sets

    async def element_set_at(self, catalog_number: str, at: datetime) -> ElementSetRecord | None:
        """The set in force at ``at``: the newest with epoch <= ``at``; before the first set,
        the earliest one (the best available for propagating backwards)."""
        number = normalize_catalog_number(catalog_number)
        record = ElementSetRecord
        before = (
            select(record)
            .where(record.catalog_number == number, record.epoch <= at)
            .order_by(record.epoch.desc())
            .limit(1)
        )
        found = (await self.session.execute(before)).scalar_one_or_none()
        if found is not None:
            return found
        after = (
            select(record)
            .where(record.catalog_number == number, record.epoch > at)
            .order_by(record.epoch)
            .limit(1)
        )
        return (await self.session.execute(after)).scalar_one_or_none()

    async def latest_element_sets(
        self, catalog_numbers: Sequence[str] | None = None
    ) -> list[ElementSetRecord]:
        """Newest set per object, ordered by catalog number (numerically); all objects when
        ``catalog_numbers`` is None, unknown numbers are left out."""
        # catalog_objects.epoch is maintained as the newest epoch, so this is one join on
        # the unique (catalog_number, epoch) index instead of a per-object MAX.
        base = select(ElementSetRecord).join(
            CatalogObject,
            and_(
                CatalogObject.catalog_number == ElementSetRecord.catalog_number,
                CatalogObject.epoch == ElementSetRecord.epoch,
            ),
        )
        if catalog_numbers is None:
            rows = list((await self.session.execute(base)).scalars().all())
        else:
            numbers = sorted({normalize_catalog_number(n) for n in catalog_numbers})
            rows = []
            for chunk in _chunks(numbers, _IN_LIST_CHUNK):
                statement = base.where(ElementSetRecord.catalog_number.in_(chunk))
                rows.extend((await self.session.execute(statement)).scalars().all())
        rows.sort(key=lambda row: _numeric_order(row.catalog_number))
        return rows

    async def history(
        self, catalog_number: str, start: datetime | None = None, stop: datetime | None = None
    ) -> list[ElementSetRecord]:
        """Every set of one object with ``start <= epoch <= stop``, ascending epoch."""
        return list(
            await self.list_element_sets(
                catalog_number, start=start, stop=stop, after_epoch=None, limit=None
            )
        )

    async def list_element_sets(
        self,
        catalog_number: str,
        *,
        start: datetime | None,
        stop: datetime | None,
        after_epoch: datetime | None,
        limit: int | None,
    ) -> Sequence[ElementSetRecord]:
        """Ascending epoch; keyset on epoch, which is unique per object."""
        record = ElementSetRecord
        statement = (
            select(record)
            .where(record.catalog_number == normalize_catalog_number(catalog_number))
            .order_by(record.epoch)
        )
        if start is not None:
            statement = statement.where(record.epoch >= start)
        if stop is not None:
            statement = statement.where(record.epoch <= stop)
        if after_epoch is not None:
            statement = statement.where(record.epoch > after_epoch)
        if limit is not None:
            statement = statement.limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def count_element_sets(self, catalog_number: str) -> int:
        statement = select(func.count()).where(
            ElementSetRecord.catalog_number == normalize_catalog_number(catalog_number)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def insert_element_sets(
        self, rows: Sequence[Mapping[str, Any]]
    ) -> set[tuple[str, datetime]]:
        """Insert the rows whose (catalog_number, epoch) is not stored yet; returns the keys
        actually inserted. Each object's row must exist first (see :meth:`upsert_objects`)."""
        if not rows:
            return set()
        statement = (
            self._insert(_ELEMENT_SETS)
            .on_conflict_do_nothing(index_elements=["catalog_number", "epoch"])
            .returning(_ELEMENT_SETS.c.catalog_number, _ELEMENT_SETS.c.epoch)
        )
        result = await self.session.execute(statement, list(rows))
        return {(number, epoch) for number, epoch in result}

    # ----------------------------------------------------------------------- objects

    async def upsert_objects(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Create missing objects; refresh an object's summary only from a newer epoch, so
        importing an old history after a recent snapshot leaves the newest summary in place.
        One row per catalog number."""
        if not rows:
            return
        insert = self._insert(_OBJECTS)
        excluded = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=["catalog_number"],
            set_={
                **{name: excluded[name] for name in _OBJECT_SUMMARY_COLUMNS},
                # A two-line TLE carries no name: keep what an earlier source told us.
                **{
                    name: func.coalesce(excluded[name], _OBJECTS.c[name])
                    for name in _OBJECT_IDENTITY_COLUMNS
                },
                "updated_at": excluded.updated_at,
            },
            where=excluded.epoch > _OBJECTS.c.epoch,
        )
        await self.session.execute(statement, list(rows))

    async def get_object(self, catalog_number: str) -> CatalogObject | None:
        return await self.session.get(CatalogObject, normalize_catalog_number(catalog_number))

    async def search_objects(
        self, filters: CatalogFilter, *, after: str | None, limit: int
    ) -> Sequence[CatalogObject]:
        """Objects in numeric catalog-number order, keyset on the catalog number."""
        statement: Select[CatalogObject] = (
            select(CatalogObject)
            .order_by(func.length(CatalogObject.catalog_number), CatalogObject.catalog_number)
            .limit(limit)
        )
        if after is not None:
            length = func.length(CatalogObject.catalog_number)
            statement = statement.where(
                or_(
                    length > len(after),
                    and_(length == len(after), CatalogObject.catalog_number > after),
                )
            )
        alternatives: list[ColumnElement[bool]] = []
        if filters.catalog_number is not None:
            alternatives.append(CatalogObject.catalog_number == filters.catalog_number)
        if filters.designator_prefix:
            pattern = f"{_escape_like(filters.designator_prefix)}%"
            alternatives.append(CatalogObject.object_id.like(pattern, escape="\\"))
        if filters.name_contains:
            pattern = f"%{_escape_like(filters.name_contains)}%"
            alternatives.append(CatalogObject.name.ilike(pattern, escape="\\"))
        if alternatives:
            statement = statement.where(or_(*alternatives))
        if filters.regime is not None:
            statement = statement.where(CatalogObject.regime == filters.regime)
        if filters.min_perigee_km is not None:
            statement = statement.where(CatalogObject.perigee_altitude_km >= filters.min_perigee_km)
        if filters.max_apogee_km is not None:
            statement = statement.where(CatalogObject.apogee_altitude_km <= filters.max_apogee_km)
        if filters.min_inclination_deg is not None:
            statement = statement.where(
                CatalogObject.inclination_deg >= filters.min_inclination_deg
            )
        if filters.max_inclination_deg is not None:
            statement = statement.where(
                CatalogObject.inclination_deg <= filters.max_inclination_deg
            )
        return (await self.session.execute(statement)).scalars().all()

    async def spacecraft_of_organisation(
        self, catalog_number: str, organisation_id: uuid.UUID
    ) -> Sequence[Spacecraft]:
        """The organisation's registered spacecraft that are this catalog object."""
        statement = (
            select(Spacecraft)
            .where(
                Spacecraft.organisation_id == organisation_id,
                Spacecraft.catalog_number == normalize_catalog_number(catalog_number),
            )
            .order_by(Spacecraft.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    def _insert(self, table: Any) -> Any:
        """INSERT with ON CONFLICT for the session's database (both dialects share the API)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
