from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.models import AuditEntry
from astroshield.audit.schemas import AuditFilter
from astroshield.db import hold_transaction_lock, try_transaction_lock

# Any constant works: it only has to be the same for every writer of the chain.
_CHAIN_LOCK_KEY = 0x41535452  # "ASTR"
_CHECKPOINT_LOCK_KEY = 0x43484B50  # "CHKP"


@dataclass(frozen=True, slots=True)
class ChainHead:
    id: int
    sequence: int
    entry_hash: str


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_chain_head(self) -> ChainHead | None:
        """Serialise appends and return the current head: a PostgreSQL advisory lock held
        to the end of the transaction, or SQLite's write lock."""
        if self.session.get_bind().dialect.name == "postgresql":
            await hold_transaction_lock(self.session, _CHAIN_LOCK_KEY)
        else:
            # The driver opens a transaction at the first write, not at a read: without
            # this no-op write the head would be read outside the write lock, and two
            # writers could both append after it.
            await self.session.execute(text("UPDATE audit_log SET id = id WHERE 0"))
        return await self.head()

    async def head(self) -> ChainHead | None:
        statement = (
            select(AuditEntry.id, AuditEntry.sequence, AuditEntry.entry_hash)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else ChainHead(row.id, row.sequence, row.entry_hash)

    async def count(self) -> int:
        statement = select(func.count()).select_from(AuditEntry)
        return int((await self.session.execute(statement)).scalar_one())

    async def try_checkpoint_lock(self) -> bool:
        """One scheduled checkpoint writer per cycle across replicas sharing PostgreSQL."""
        return await try_transaction_lock(self.session, _CHECKPOINT_LOCK_KEY)

    async def append(self, entry: AuditEntry) -> AuditEntry:
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def list(
        self, filters: AuditFilter, *, before_id: int | None, limit: int
    ) -> Sequence[AuditEntry]:
        statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if before_id is not None:
            statement = statement.where(AuditEntry.id < before_id)
        if filters.platform_stream:
            statement = statement.where(AuditEntry.organisation_id.is_(None))
        for column, value in (
            (AuditEntry.organisation_id, filters.organisation_id),
            (AuditEntry.action, filters.action),
            (AuditEntry.actor, filters.actor),
            (AuditEntry.object_type, filters.object_type),
            (AuditEntry.object_id, filters.object_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if filters.since is not None:
            statement = statement.where(AuditEntry.occurred_at >= filters.since)
        if filters.until is not None:
            statement = statement.where(AuditEntry.occurred_at < filters.until)
        return (await self.session.execute(statement)).scalars().all()

    async def prune_boundary(self, before: datetime) -> int | None:
        """Id of the oldest entry retention keeps: everything below it goes.

        The first entry at or after the cutoff, so that what remains is an unbroken tail
        even if clocks put an older timestamp after a newer one; and never past the newest
        entry, so that the chain (and its sequence numbers) continues from it.
        """
        kept = select(func.min(AuditEntry.id)).where(AuditEntry.occurred_at >= before)
        boundary = (await self.session.execute(kept)).scalar_one_or_none()
        if boundary is None:
            newest = select(func.max(AuditEntry.id))
            boundary = (await self.session.execute(newest)).scalar_one_or_none()
        return boundary

    async def count_below(self, below_id: int) -> int:
        statement = select(func.count()).where(AuditEntry.id < below_id)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_below(self, below_id: int, batch: int) -> int:
        # Oldest first, by id, so what remains is always an unbroken tail of the chain.
        ids = (
            select(AuditEntry.id)
            .where(AuditEntry.id < below_id)
            .order_by(AuditEntry.id)
            .limit(batch)
        )
        result = await self.session.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def first_link(self) -> str | None:
        """The previous hash of the oldest entry left."""
        statement = select(AuditEntry.previous_hash).order_by(AuditEntry.id).limit(1)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def iterate(self, batch_size: int = 1000) -> AsyncIterator[AuditEntry]:
        """Every entry in chain order, in batches so memory stays bounded."""
        after = 0
        while True:
            statement = (
                select(AuditEntry)
                .where(AuditEntry.id > after)
                .order_by(AuditEntry.id)
                .limit(batch_size)
            )
            batch = (await self.session.execute(statement)).scalars().all()
            if not batch:
                return
            for entry in batch:
                yield entry
            after = batch[-1].id
            self.session.expunge_all()
