"""All SQL of webhooks. ``WebhookRepository`` is one organisation's (every read carries
its id, so another organisation's subscription or delivery is not found);
``DispatchRepository`` is the dispatcher's platform work over every organisation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.db import lease_rows
from astroshield.events.models import OutboxEvent
from astroshield.webhooks.models import WebhookDelivery, WebhookSubscription

# Claims are serialised on PostgreSQL by this transaction-level advisory lock (a claim sees
# every lease committed before it); the rows themselves are taken FOR UPDATE SKIP LOCKED.
_CLAIM_LOCK = 0x0B7B0C6


async def outbox_head(session: AsyncSession) -> int:
    """The highest outbox sequence (0 when empty): a new subscription starts after it."""
    statement = select(func.coalesce(func.max(OutboxEvent.sequence), 0))
    return int((await session.execute(statement)).scalar_one())


class WebhookRepository:
    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    async def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.session.add(subscription)
        await self.session.flush()
        return subscription

    async def count(self) -> int:
        statement = select(func.count()).where(
            WebhookSubscription.organisation_id == self.organisation_id
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def get(self, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        statement = select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id,
            WebhookSubscription.organisation_id == self.organisation_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list(
        self, *, after_id: uuid.UUID | None, limit: int
    ) -> Sequence[WebhookSubscription]:
        statement = (
            select(WebhookSubscription)
            .where(WebhookSubscription.organisation_id == self.organisation_id)
            .order_by(WebhookSubscription.id)
            .limit(limit)
        )
        if after_id is not None:
            statement = statement.where(WebhookSubscription.id > after_id)
        return (await self.session.execute(statement)).scalars().all()

    async def delete(self, subscription: WebhookSubscription) -> None:
        await self.session.delete(subscription)
        await self.session.flush()

    async def deliveries(
        self,
        subscription_id: uuid.UUID,
        *,
        status: str | None,
        after_id: uuid.UUID | None,
        limit: int,
    ) -> Sequence[WebhookDelivery]:
        """Newest first."""
        statement = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.subscription_id == subscription_id,
                WebhookDelivery.organisation_id == self.organisation_id,
            )
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if status is not None:
            statement = statement.where(WebhookDelivery.status == status)
        if after_id is not None:
            statement = statement.where(WebhookDelivery.id < after_id)
        return (await self.session.execute(statement)).scalars().all()

    async def get_delivery(
        self, subscription_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery | None:
        statement = select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.organisation_id == self.organisation_id,
        )
        statement = statement.execution_options(populate_existing=True)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def requeue(self, delivery_id: uuid.UUID, now: datetime) -> bool:
        """A failed delivery back to pending, due now, with a fresh count of attempts
        (conditional: of two concurrent replays one re-queues, the other finds it pending)."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.organisation_id == self.organisation_id,
                WebhookDelivery.status == "failed",
            )
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=now,
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ClaimedDelivery:
    """A leased delivery with what sending it needs, detached from its session."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempts: int
    url: str
    secret_ciphertext: str
    envelope: dict[str, Any] | None  # None: the event left the outbox (retention)


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest: datetime | None


def _claimable(now: datetime) -> list[ColumnElement[bool]]:
    return [
        WebhookDelivery.status == "pending",
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
    ]


class DispatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_active_subscriptions(self) -> Sequence[WebhookSubscription]:
        """The active subscriptions, write-locked for this transaction (a no-op UPDATE:
        on PostgreSQL it locks their rows, on SQLite it takes the writer's lock), so two
        dispatchers never create deliveries for one subscription at once."""
        await self.session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.active.is_(True))
            .values(cursor=WebhookSubscription.cursor)
            .execution_options(synchronize_session=False)
        )
        statement = (
            select(WebhookSubscription)
            .where(WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def new_events(
        self, subscription: WebhookSubscription, limit: int
    ) -> Sequence[tuple[int, uuid.UUID, str]]:
        """(sequence, id, type) of the outbox events after the subscription's cursor that
        it asked for and has no delivery of yet: its organisation's, and platform events
        (no organisation), in sequence order."""
        delivered = exists().where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.event_sequence == OutboxEvent.sequence,
        )
        statement = (
            select(OutboxEvent.sequence, OutboxEvent.id, OutboxEvent.type)
            .where(
                OutboxEvent.sequence > subscription.cursor,
                OutboxEvent.type.in_(subscription.event_types),
                or_(
                    OutboxEvent.organisation_id == subscription.organisation_id,
                    OutboxEvent.organisation_id.is_(None),
                ),
                ~delivered,
            )
            .order_by(OutboxEvent.sequence)
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        return [(int(sequence), event_id, event_type) for sequence, event_id, event_type in rows]

    async def settled_head(self, after: int, before: datetime) -> int | None:
        """The highest sequence after ``after`` among events created before ``before``:
        older events are committed by now, so a cursor may pass them."""
        statement = select(func.max(OutboxEvent.sequence)).where(
            OutboxEvent.sequence > after, OutboxEvent.created_at < before
        )
        value = (await self.session.execute(statement)).scalar_one_or_none()
        return None if value is None else int(value)

    def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        self.session.add_all(deliveries)

    async def move_cursor(self, subscription_id: uuid.UUID, cursor: int) -> None:
        await self.session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id, WebhookSubscription.cursor < cursor)
            .values(cursor=cursor)
            .execution_options(synchronize_session=False)
        )

    async def claim(
        self, dispatcher_id: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries of active subscriptions, oldest event
        first, in one conditional UPDATE; the caller commits before sending anything."""
        candidates = (
            select(WebhookDelivery.id)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(*_claimable(now), WebhookSubscription.active.is_(True))
            .order_by(WebhookDelivery.event_sequence, WebhookDelivery.id)
            .limit(limit)
        )
        await lease_rows(
            self.session,
            WebhookDelivery.id,
            candidates,
            _claimable(now),
            {"claimed_by": dispatcher_id, "claimed_until": lease_until},
            lock_key=_CLAIM_LOCK,
            locked=WebhookDelivery,
        )
        statement = (
            select(
                WebhookDelivery,
                WebhookSubscription.url,
                WebhookSubscription.secret_ciphertext,
                OutboxEvent.envelope,
            )
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .outerjoin(OutboxEvent, OutboxEvent.sequence == WebhookDelivery.event_sequence)
            .where(
                WebhookDelivery.claimed_by == dispatcher_id,
                WebhookDelivery.status == "pending",
            )
            .order_by(WebhookDelivery.event_sequence, WebhookDelivery.id)
        )
        return [
            ClaimedDelivery(
                delivery.id,
                delivery.subscription_id,
                delivery.event_id,
                delivery.event_type,
                delivery.attempts,
                url,
                secret,
                envelope,
            )
            for delivery, url, secret, envelope in (await self.session.execute(statement)).all()
        ]

    async def settle(
        self, dispatcher_id: str, delivery_id: uuid.UUID, values: dict[str, Any]
    ) -> None:
        """Record an attempt's outcome on a delivery this dispatcher still holds."""
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.claimed_by == dispatcher_id,
            )
            .values(
                attempts=WebhookDelivery.attempts + 1,
                claimed_by=None,
                claimed_until=None,
                **values,
            )
            .execution_options(synchronize_session=False)
        )

    async def release(
        self, dispatcher_id: str, delivery_ids: Sequence[uuid.UUID], retry_at: datetime
    ) -> None:
        """Give back leased deliveries not attempted, due again at ``retry_at`` (behind a
        failed delivery to the same endpoint: it is not hammered, and order is kept)."""
        if not delivery_ids:
            return
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(delivery_ids),
                WebhookDelivery.claimed_by == dispatcher_id,
            )
            .values(claimed_by=None, claimed_until=None, next_attempt_at=retry_at)
            .execution_options(synchronize_session=False)
        )

    async def backlog(self) -> Backlog:
        statement = select(func.count(), func.min(WebhookDelivery.created_at)).where(
            WebhookDelivery.status == "pending"
        )
        pending, oldest = (await self.session.execute(statement)).one()
        return Backlog(int(pending), oldest)


class DeliveryRetentionRepository:
    """Finished deliveries (succeeded, or failed and not replayed) past their keep."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _finished_before(before: datetime) -> ColumnElement[bool]:
        return WebhookDelivery.status.in_(("succeeded", "failed")) & (
            WebhookDelivery.created_at < before
        )

    async def count_finished_before(self, before: datetime) -> int:
        statement = select(func.count()).where(self._finished_before(before))
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_finished_before(self, before: datetime, batch: int) -> int:
        oldest = select(WebhookDelivery.id).where(self._finished_before(before)).limit(batch)
        result = await self.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.id.in_(oldest))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
