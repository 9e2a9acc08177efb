"""All SQL of the feeds: runs, query memory, schedule leases, ingested CDM ids, and the
reads a refresh needs (which fetched element sets the public catalog holds already, which
organisations registered which catalog numbers)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.catalog.models import ElementSetRecord
from astroshield.feeds.memory import QueryRecord
from astroshield.feeds.models import FeedCdm, FeedQuery, FeedRun
from astroshield.spacecraft.models import Spacecraft

CHUNK = 500


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---------------------------------------------------------------- query memory

    async def queries(self, prefix: str) -> dict[str, QueryRecord]:
        rows = await self.session.scalars(
            select(FeedQuery).where(FeedQuery.key.startswith(prefix, autoescape=True))
        )
        return {
            row.key: QueryRecord(_aware(row.requested_at).timestamp(), row.etag, row.last_modified)
            for row in rows
        }

    async def save_queries(self, records: dict[str, QueryRecord]) -> None:
        if not records:
            return
        keys = list(records)
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            await self.session.execute(delete(FeedQuery).where(FeedQuery.key.in_(chunk)))
        await self.session.execute(
            insert(FeedQuery),
            [
                {
                    "key": key,
                    "requested_at": datetime.fromtimestamp(record.requested_at, UTC),
                    "etag": record.etag,
                    "last_modified": record.last_modified,
                }
                for key, record in records.items()
            ],
        )

    # ------------------------------------------------------------------ the catalog

    async def public_epochs(self, catalog_numbers: Collection[str]) -> set[tuple[str, float]]:
        """(catalog number, epoch as a timestamp) of every public set of these objects."""
        numbers = sorted(catalog_numbers)
        found: set[tuple[str, float]] = set()
        for start in range(0, len(numbers), CHUNK):
            rows = await self.session.execute(
                select(ElementSetRecord.catalog_number, ElementSetRecord.epoch).where(
                    ElementSetRecord.organisation_id.is_(None),
                    ElementSetRecord.catalog_number.in_(numbers[start : start + CHUNK]),
                )
            )
            found.update((number, _aware(epoch).timestamp()) for number, epoch in rows)
        return found

    async def registered_catalog_numbers(self) -> list[str]:
        """Catalog numbers of every organisation's spacecraft."""
        rows = await self.session.scalars(
            select(Spacecraft.catalog_number)
            .where(Spacecraft.catalog_number.is_not(None))
            .distinct()
        )
        return sorted({row for row in rows if row is not None}, key=int)

    async def owners(self, catalog_numbers: Collection[str]) -> dict[str, set[uuid.UUID]]:
        """Per catalog number, the organisations that registered a spacecraft under it."""
        owners: dict[str, set[uuid.UUID]] = {}
        numbers = sorted(catalog_numbers)
        for start in range(0, len(numbers), CHUNK):
            rows = await self.session.execute(
                select(Spacecraft.catalog_number, Spacecraft.organisation_id).where(
                    Spacecraft.catalog_number.in_(numbers[start : start + CHUNK])
                )
            )
            for number, organisation_id in rows:
                if number is not None:
                    owners.setdefault(number, set()).add(organisation_id)
        return owners

    # ----------------------------------------------------------------- CDM ids

    async def known_cdm_ids(self, organisation_id: uuid.UUID, cdm_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(cdm_ids))
        known: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            rows = await self.session.scalars(
                select(FeedCdm.cdm_id).where(
                    FeedCdm.organisation_id == organisation_id,
                    FeedCdm.cdm_id.in_(wanted[start : start + CHUNK]),
                )
            )
            known.update(rows)
        return known

    def add_cdm_id(self, organisation_id: uuid.UUID, cdm_id: str) -> None:
        self.session.add(FeedCdm(cdm_id=cdm_id, organisation_id=organisation_id))

    # ------------------------------------------------------------------ runs

    async def add_run(self, run: FeedRun) -> FeedRun:
        self.session.add(run)
        await self.session.flush()
        return run

    async def get_run(self, run_id: int) -> FeedRun | None:
        return await self.session.get(FeedRun, run_id)

    async def list_runs(self, *, before_id: int | None, limit: int) -> Sequence[FeedRun]:
        statement = select(FeedRun).order_by(FeedRun.id.desc()).limit(limit)
        if before_id is not None:
            statement = statement.where(FeedRun.id < before_id)
        return (await self.session.scalars(statement)).all()
