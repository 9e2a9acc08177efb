"""Auth data under retention: refresh tokens and access-token revocations past expiry.

An expired token is refused by its signature's expiry already, so its row only costs
space; a login's revocation outlives none of its refresh tokens.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.auth.repository import AuthRepository


async def count_expired_tokens(session: AsyncSession, now: datetime) -> int:
    return await AuthRepository(session).count_expired(now=now)


async def purge_expired_tokens(session: AsyncSession, now: datetime) -> int:
    return await AuthRepository(session).purge_expired(now=now)
