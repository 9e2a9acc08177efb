"""All SQL of the outbox. Writing is per organisation (``add``); the relay's claims are
platform work over every organisation's rows, as the relay serves them all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from astroshield.db import lease_rows
from astroshield.events.models import OutboxEvent
from astroshield.organisations.models import Organisation

# Claims are serialised on PostgreSQL with this transaction-level advisory lock, so that
# a replica's claim sees the leases every earlier claim committed (per-subject order
# across replicas); the rows themselves are taken with FOR UPDATE SKIP LOCKED.
_CLAIM_LOCK = 0x0B7B0C5


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest: datetime | None


async def organisation_slug(session: AsyncSession, organisation_id: uuid.UUID) -> str | None:
    statement = select(Organisation.slug).where(Organisation.id == organisation_id)
    return (await session.execute(statement)).scalar_one_or_none()


def add(session: AsyncSession, row: OutboxEvent) -> None:
    """In the caller's transaction; flushed with the change that caused it."""
    session.add(row)


def _claimable(row: type[OutboxEvent], now: datetime) -> list[ColumnElement[bool]]:
    return [
        row.sent_at.is_(None),
        row.next_attempt_at <= now,
        or_(row.claimed_until.is_(None), row.claimed_until < now),
    ]


def _held_subjects(now: datetime) -> Subquery:
    """Per subject, the first unsent row this claim cannot take (waiting for its retry, or
    leased by another relay): it holds back every later row of its subject. One pass
    over the pending rows, whatever their number."""
    return (
        select(OutboxEvent.subject, func.min(OutboxEvent.sequence).label("first"))
        .where(
            OutboxEvent.sent_at.is_(None),
            or_(
                OutboxEvent.next_attempt_at > now,
                and_(OutboxEvent.claimed_until.is_not(None), OutboxEvent.claimed_until >= now),
            ),
        )
        .group_by(OutboxEvent.subject)
        .subquery("held")
    )


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self, relay_id: str, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[OutboxEvent]:
        """Lease up to ``limit`` publishable rows to ``relay_id``, in sequence order, in one
        conditional UPDATE (SQLite: the statement holds the single writer's lock, so two
        relays never lease one row); the caller commits the lease before publishing."""
        pending = aliased(OutboxEvent)
        held = _held_subjects(now)
        candidates = (
            select(pending.sequence)
            .outerjoin(held, held.c.subject == pending.subject)
            .where(
                *_claimable(pending, now),
                or_(held.c.first.is_(None), pending.sequence < held.c.first),
            )
            .order_by(pending.sequence)
            .limit(limit)
        )
        await lease_rows(
            self.session,
            OutboxEvent.sequence,
            candidates,
            _claimable(OutboxEvent, now),
            {"claimed_by": relay_id, "claimed_until": lease_until},
            lock_key=_CLAIM_LOCK,
            locked=pending,
        )
        statement = (
            select(OutboxEvent)
            .where(OutboxEvent.claimed_by == relay_id, OutboxEvent.sent_at.is_(None))
            .order_by(OutboxEvent.sequence)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(statement)).scalars())

    async def mark_sent(
        self, relay_id: str, sequences: Sequence[int], now: datetime, published_to: str
    ) -> None:
        if not sequences:
            return
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.sequence.in_(sequences), OutboxEvent.claimed_by == relay_id)
            .values(sent_at=now, published_to=published_to, claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )

    async def mark_failed(
        self, relay_id: str, sequence: int, error: str, retry_at: datetime
    ) -> None:
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.sequence == sequence, OutboxEvent.claimed_by == relay_id)
            .values(
                attempts=OutboxEvent.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=retry_at,
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def release(self, relay_id: str, sequences: Sequence[int]) -> None:
        """Give back leased rows not attempted (held back behind a failed row)."""
        if not sequences:
            return
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.sequence.in_(sequences), OutboxEvent.claimed_by == relay_id)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )

    async def backlog(self) -> Backlog:
        statement = select(func.count(), func.min(OutboxEvent.created_at)).where(
            OutboxEvent.sent_at.is_(None)
        )
        pending, oldest = (await self.session.execute(statement)).one()
        return Backlog(int(pending), oldest)

    async def for_organisation(
        self, organisation_id: uuid.UUID, limit: int = 100
    ) -> Sequence[OutboxEvent]:
        statement = (
            select(OutboxEvent)
            .where(OutboxEvent.organisation_id == organisation_id)
            .order_by(OutboxEvent.sequence)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())


class OutboxRetentionRepository:
    """Published rows past their keep: the relay is done with them, and the webhook
    dispatcher fans out within its grace window, long before any retention cutoff."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count_sent_before(self, before: datetime) -> int:
        statement = select(func.count()).where(OutboxEvent.sent_at < before)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_sent_before(self, before: datetime, batch: int) -> int:
        oldest = (
            select(OutboxEvent.sequence)
            .where(OutboxEvent.sent_at < before)
            .order_by(OutboxEvent.sequence)
            .limit(batch)
        )
        result = await self.session.execute(
            delete(OutboxEvent).where(OutboxEvent.sequence.in_(oldest))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
