"""Webhook deliveries under retention: a finished delivery (succeeded, or failed) is kept
``retention_webhook_delivery_days`` for its owners to list and replay, then deleted; a
pending one is never deleted (the dispatcher still owes it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.webhooks.repository import DeliveryRetentionRepository


async def count_finished(session: AsyncSession, before: datetime) -> int:
    return await DeliveryRetentionRepository(session).count_finished_before(before)


async def delete_finished(session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete up to ``batch`` deliveries finished and created before ``before``."""
    return await DeliveryRetentionRepository(session).delete_finished_before(before, batch)
