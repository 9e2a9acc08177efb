"""Invitations under retention: an invitation holds an e-mail address until it is
accepted or revoked, so it is deleted some time after it expired; the audit log keeps its
story after the row is gone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.invitations.repository import InvitationRepository


async def count_expired(session: AsyncSession, before: datetime) -> int:
    return await InvitationRepository(session).count_expired(before)


async def delete_expired(session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete up to ``batch`` invitations that expired before ``before``."""
    return await InvitationRepository(session).delete_expired(before, batch)
