"""Accounts under retention: the personal data of accounts deactivated long enough ago
is erased (the row stays, so that what the account did keeps an actor)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.users.repository import UserRepository
from astroshield.users.service import erase_pii


async def count_inactive_pii(session: AsyncSession, deactivated_before: datetime) -> int:
    return await UserRepository(session).count_inactive_with_pii(deactivated_before)


async def erase_inactive_pii(
    session: AsyncSession, deactivated_before: datetime, *, now: datetime, batch: int
) -> int:
    """Erase, ``batch`` accounts at a time, what inactive accounts still hold."""
    repository = UserRepository(session)
    erased = 0
    while users := await repository.inactive_with_pii(deactivated_before, batch):
        for user in users:
            erase_pii(user, now=now)
        await session.flush()
        erased += len(users)
    return erased
