from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from astroshield.astro.ids import normalize_catalog_number
from astroshield.catalog import precedence
from astroshield.catalog.models import CatalogObject, CatalogOverlayObject, ElementSetRecord
from astroshield.db import escape_like, upsert_insert

# Bound parameters per statement stay far below SQLite's 32,766 and PostgreSQL's 32,767.
_IN_LIST_CHUNK = 5_000

Summary = TypeVar("Summary", CatalogObject, CatalogOverlayObject)

_OBJECTS = CatalogObject.__table__
_OVERLAY_OBJECTS = CatalogOverlayObject.__table__
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


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def numeric_order(catalog_number: str) -> tuple[int, str]:
    # Canonical catalog numbers have no leading zeros, so (length, text) sorts numerically.
    return len(catalog_number), catalog_number


class CatalogRepository:
    """All SQL of the catalog, as one organisation sees it (``organisation_id``), or as the
    platform does (None: public sets only).

    Every read of element sets starts from the sets visible to that viewer: the public ones
    and its own overlay, never another organisation's. Reads that feed analyses
    (:meth:`element_set_at`, :meth:`latest_element_sets`, :meth:`history`) apply the overlay
    precedence of :mod:`astroshield.catalog.precedence`; listings show every visible set.
    Catalog numbers may be given in any accepted form (``"A0001"``, ``"00005"``); they are
    normalised before use. Times are timezone-aware UTC.
    """

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID | None) -> None:
        self.session = session
        self.organisation_id = organisation_id

    # ------------------------------------------------------------------ visibility

    @staticmethod
    def _public() -> ColumnElement[bool]:
        return ElementSetRecord.organisation_id.is_(None)

    def _own(self) -> ColumnElement[bool]:
        return ElementSetRecord.organisation_id == self.organisation_id

    def _visible(self) -> ColumnElement[bool]:
        if self.organisation_id is None:
            return self._public()
        return or_(self._public(), self._own())

    async def _first(self, statement: Select[ElementSetRecord]) -> ElementSetRecord | None:
        return (await self.session.execute(statement.limit(1))).scalar_one_or_none()

    # ------------------------------------------------------------------ element sets

    async def element_set_at(self, catalog_number: str, at: datetime) -> ElementSetRecord | None:
        """The set in force at ``at``: the newest effective set with epoch <= ``at``; before
        the first set, the earliest one (the best available for propagating backwards)."""
        number = normalize_catalog_number(catalog_number)
        record = ElementSetRecord
        before = (
            select(record)
            .where(record.catalog_number == number, record.epoch <= at)
            .order_by(record.epoch.desc())
        )
        after = (
            select(record)
            .where(record.catalog_number == number, record.epoch > at)
            .order_by(record.epoch)
        )
        public_before = await self._first(before.where(self._public()))
        overlay_before = None
        if self.organisation_id is not None:
            overlay_before = await self._first(before.where(self._own()))
        found = precedence.prefer(public_before, overlay_before)
        if found is not None:
            return found
        public_after = await self._first(after.where(self._public()))
        overlay_after = None
        if self.organisation_id is not None:
            overlay_after = await self._first(after.where(self._own()))
        return precedence.earliest(public_after, overlay_after)

    async def latest_element_sets(
        self, catalog_numbers: Sequence[str] | None = None
    ) -> list[ElementSetRecord]:
        """Newest effective set per object, ordered by catalog number (numerically); every
        visible object when ``catalog_numbers`` is None, unknown numbers are left out."""
        # catalog_objects.epoch is maintained as the newest public epoch, so this is one join
        # on the unique public (catalog_number, epoch) index instead of a per-object MAX.
        public = (
            select(ElementSetRecord)
            .join(
                CatalogObject,
                and_(
                    CatalogObject.catalog_number == ElementSetRecord.catalog_number,
                    CatalogObject.epoch == ElementSetRecord.epoch,
                ),
            )
            .where(self._public())
        )
        numbers = (
            None
            if catalog_numbers is None
            else sorted({normalize_catalog_number(n) for n in catalog_numbers})
        )
        newest: dict[str, ElementSetRecord] = {
            row.catalog_number: row
            for row in await self._in_chunks(public, numbers, CatalogObject.catalog_number)
        }
        if self.organisation_id is not None:
            for row in await self._in_chunks(self._newest_overlay_statement(), numbers):
                chosen = precedence.prefer(newest.get(row.catalog_number), row)
                if chosen is not None:
                    newest[row.catalog_number] = chosen
        return sorted(newest.values(), key=lambda row: numeric_order(row.catalog_number))

    def _newest_overlay_statement(self) -> Select[ElementSetRecord]:
        record = ElementSetRecord
        newest = (
            select(record.catalog_number, func.max(record.epoch).label("epoch"))
            .where(self._own())
            .group_by(record.catalog_number)
            .subquery()
        )
        return (
            select(record)
            .join(
                newest,
                and_(
                    record.catalog_number == newest.c.catalog_number,
                    record.epoch == newest.c.epoch,
                ),
            )
            .where(self._own())
        )

    async def _in_chunks(
        self,
        statement: Select[ElementSetRecord],
        numbers: Sequence[str] | None,
        *joined: InstrumentedAttribute[str],
    ) -> list[ElementSetRecord]:
        """``statement`` for ``numbers``, a chunk at a time; ``joined`` catalog-number
        columns of joined tables get the same filter, so the planner need not scan them."""
        if numbers is None:
            return list((await self.session.execute(statement)).scalars().all())
        rows: list[ElementSetRecord] = []
        for chunk in _chunks(numbers, _IN_LIST_CHUNK):
            chosen = statement.where(
                ElementSetRecord.catalog_number.in_(chunk), *(c.in_(chunk) for c in joined)
            )
            rows.extend((await self.session.execute(chosen)).scalars().all())
        return rows

    async def history(
        self, catalog_number: str, start: datetime | None = None, stop: datetime | None = None
    ) -> list[ElementSetRecord]:
        """The effective sets of one object with ``start <= epoch <= stop``, ascending epoch."""
        number = normalize_catalog_number(catalog_number)
        record = ElementSetRecord

        def window(begin: datetime | None) -> Select[ElementSetRecord]:
            statement = select(record).where(record.catalog_number == number)
            if begin is not None:
                statement = statement.where(record.epoch >= begin)
            if stop is not None:
                statement = statement.where(record.epoch <= stop)
            return statement.order_by(record.epoch)

        public = (await self.session.execute(window(start).where(self._public()))).scalars()
        if self.organisation_id is None:
            return list(public)
        public_sets = list(public)
        # An overlay set shortly before the window can still shadow public sets inside it.
        reach = None if start is None else start - precedence.OVERLAY_PREFERENCE
        overlay = list((await self.session.execute(window(reach).where(self._own()))).scalars())
        merged = precedence.effective_history(public_sets, overlay)
        return [item for item in merged if start is None or item.epoch >= start]

    async def list_element_sets(
        self,
        catalog_number: str,
        *,
        start: datetime | None,
        stop: datetime | None,
        after: tuple[datetime, int | None] | None,
        limit: int | None,
    ) -> Sequence[ElementSetRecord]:
        """Every visible set (public and the viewer's overlay), ascending (epoch, id): a
        public and an overlay set may share an epoch. ``after`` is the keyset (an id of None
        skips every set at that epoch)."""
        record = ElementSetRecord
        statement = (
            select(record)
            .where(
                record.catalog_number == normalize_catalog_number(catalog_number), self._visible()
            )
            .order_by(record.epoch, record.id)
        )
        if start is not None:
            statement = statement.where(record.epoch >= start)
        if stop is not None:
            statement = statement.where(record.epoch <= stop)
        if after is not None:
            after_epoch, after_id = after
            if after_id is None:
                statement = statement.where(record.epoch > after_epoch)
            else:
                statement = statement.where(
                    or_(
                        record.epoch > after_epoch,
                        and_(record.epoch == after_epoch, record.id > after_id),
                    )
                )
        if limit is not None:
            statement = statement.limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def count_element_sets(self, catalog_number: str) -> int:
        statement = select(func.count()).where(
            ElementSetRecord.catalog_number == normalize_catalog_number(catalog_number),
            self._visible(),
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def insert_element_sets(
        self, rows: Sequence[Mapping[str, Any]], organisation_id: uuid.UUID | None
    ) -> set[tuple[str, datetime]]:
        """Insert rows into the public catalog (``organisation_id`` None) or that
        organisation's overlay, skipping those whose (catalog_number, epoch) it holds
        already; returns the keys actually inserted. Every row's ``organisation_id`` must
        be ``organisation_id``."""
        if not rows:
            return set()
        insert = upsert_insert(self.session, _ELEMENT_SETS)
        if organisation_id is None:
            insert = insert.on_conflict_do_nothing(
                index_elements=["catalog_number", "epoch"],
                index_where=_ELEMENT_SETS.c.organisation_id.is_(None),
            )
        else:
            insert = insert.on_conflict_do_nothing(
                index_elements=["organisation_id", "catalog_number", "epoch"]
            )
        statement = insert.returning(_ELEMENT_SETS.c.catalog_number, _ELEMENT_SETS.c.epoch)
        result = await self.session.execute(statement, list(rows))
        return {(number, epoch) for number, epoch in result}

    async def public_set_exists(self, catalog_number: str, epoch: datetime) -> bool:
        statement = select(
            exists().where(
                ElementSetRecord.catalog_number == catalog_number,
                ElementSetRecord.epoch == epoch,
                self._public(),
            )
        )
        return bool((await self.session.execute(statement)).scalar())

    # ------------------------------------------------ platform review of every overlay

    async def visible_element_set(self, set_id: int) -> ElementSetRecord | None:
        """One set by id when the viewer may see it (public, or its own overlay)."""
        statement = select(ElementSetRecord).where(ElementSetRecord.id == set_id, self._visible())
        return await self._first(statement)

    async def any_element_set(self, set_id: int) -> ElementSetRecord | None:
        """The set whatever its visibility: for platform administrators only."""
        return await self.session.get(ElementSetRecord, set_id)

    async def overlay_sets(
        self,
        *,
        catalog_number: str | None,
        organisation_id: uuid.UUID | None,
        after_id: int | None,
        limit: int,
    ) -> Sequence[ElementSetRecord]:
        """Every organisation's unpublished overlay sets, newest upload first: for platform
        administrators only."""
        record = ElementSetRecord
        statement = (
            select(record)
            .where(record.organisation_id.is_not(None))
            .order_by(record.id.desc())
            .limit(limit)
        )
        if catalog_number is not None:
            statement = statement.where(record.catalog_number == catalog_number)
        if organisation_id is not None:
            statement = statement.where(record.organisation_id == organisation_id)
        if after_id is not None:
            statement = statement.where(record.id < after_id)
        return (await self.session.execute(statement)).scalars().all()

    async def flush(self) -> None:
        await self.session.flush()

    # ----------------------------------------------------------------------- objects

    async def upsert_objects(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Public objects: create missing ones; refresh an object's summary only from a
        newer epoch, so importing an old history after a recent snapshot leaves the newest
        summary in place. One row per catalog number."""
        await self._upsert_summaries(_OBJECTS, ["catalog_number"], rows)

    async def upsert_overlay_objects(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The same for overlay objects; every row names its ``organisation_id``."""
        await self._upsert_summaries(_OVERLAY_OBJECTS, ["organisation_id", "catalog_number"], rows)

    async def _upsert_summaries(
        self, table: Any, key: list[str], rows: Sequence[Mapping[str, Any]]
    ) -> None:
        if not rows:
            return
        insert = upsert_insert(self.session, table)
        excluded = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=key,
            set_={
                **{name: excluded[name] for name in _OBJECT_SUMMARY_COLUMNS},
                # A two-line TLE carries no name: keep what an earlier source told us.
                **{
                    name: func.coalesce(excluded[name], table.c[name])
                    for name in _OBJECT_IDENTITY_COLUMNS
                },
                "updated_at": excluded.updated_at,
            },
            where=excluded.epoch > table.c.epoch,
        )
        await self.session.execute(statement, list(rows))

    async def get_object(self, catalog_number: str) -> CatalogObject | None:
        """The public object."""
        return await self.session.get(CatalogObject, normalize_catalog_number(catalog_number))

    async def get_overlay_object(self, catalog_number: str) -> CatalogOverlayObject | None:
        """The viewer's overlay summary of the object (None for the platform view)."""
        if self.organisation_id is None:
            return None
        key = (self.organisation_id, normalize_catalog_number(catalog_number))
        return await self.session.get(CatalogOverlayObject, key)

    async def search_objects(
        self, filters: CatalogFilter, *, after: str | None, limit: int
    ) -> Sequence[CatalogObject]:
        """Public objects in numeric catalog-number order, keyset on the catalog number."""
        statement = _search(CatalogObject, filters, after=after, limit=limit)
        return (await self.session.execute(statement)).scalars().all()

    async def search_overlay_objects(
        self, filters: CatalogFilter, *, after: str | None, limit: int
    ) -> Sequence[CatalogOverlayObject]:
        """The viewer's overlay objects the public catalog does not know, in the same
        order and with the same filters as :meth:`search_objects`."""
        if self.organisation_id is None:
            return []
        overlay = CatalogOverlayObject
        statement = _search(overlay, filters, after=after, limit=limit).where(
            overlay.organisation_id == self.organisation_id,
            ~exists().where(CatalogObject.catalog_number == overlay.catalog_number),
        )
        return (await self.session.execute(statement)).scalars().all()


def _search(
    model: type[Summary], filters: CatalogFilter, *, after: str | None, limit: int
) -> Select[Summary]:
    """Objects of ``model`` (public or overlay summaries, which share their columns) matching
    ``filters`` in numeric catalog-number order, keyset on the catalog number."""
    number = model.catalog_number
    length = func.length(number)
    statement = select(model).order_by(length, number).limit(limit)
    if after is not None:
        statement = statement.where(
            or_(length > len(after), and_(length == len(after), number > after))
        )
    alternatives = _search_alternatives(model, filters)
    if alternatives:
        statement = statement.where(or_(*alternatives))
    return statement.where(*_orbit_bounds(model, filters))


def _search_alternatives(model: type[Summary], filters: CatalogFilter) -> list[ColumnElement[bool]]:
    """The search box: catalog number, COSPAR designator prefix or part of the name."""
    alternatives: list[ColumnElement[bool]] = []
    if filters.catalog_number is not None:
        alternatives.append(model.catalog_number == filters.catalog_number)
    if filters.designator_prefix:
        pattern = f"{escape_like(filters.designator_prefix)}%"
        alternatives.append(model.object_id.like(pattern, escape="\\"))
    if filters.name_contains:
        pattern = f"%{escape_like(filters.name_contains)}%"
        alternatives.append(model.name.ilike(pattern, escape="\\"))
    return alternatives


def _orbit_bounds(model: type[Summary], filters: CatalogFilter) -> list[ColumnElement[bool]]:
    """The regime and orbit bounds, all of which must hold."""
    bounds: list[ColumnElement[bool]] = []
    if filters.regime is not None:
        bounds.append(model.regime == filters.regime)
    if filters.min_perigee_km is not None:
        bounds.append(model.perigee_altitude_km >= filters.min_perigee_km)
    if filters.max_apogee_km is not None:
        bounds.append(model.apogee_altitude_km <= filters.max_apogee_km)
    if filters.min_inclination_deg is not None:
        bounds.append(model.inclination_deg >= filters.min_inclination_deg)
    if filters.max_inclination_deg is not None:
        bounds.append(model.inclination_deg <= filters.max_inclination_deg)
    return bounds
