from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.auth.models import RefreshToken, RevokedAccessToken
from astroshield.users.models import User


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def get_refresh_token(self, jti: str) -> RefreshToken | None:
        return await self.session.get(RefreshToken, jti)

    async def claim_refresh_token(self, jti: str, *, now: datetime) -> bool:
        """Mark a refresh token used, atomically: of two concurrent exchanges of the same
        token exactly one wins, the other sees it used (and is treated as reuse)."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.jti == jti,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def revoke_family(self, family_id: uuid.UUID, *, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def revoke_access_token(self, jti: str, *, expires_at: datetime) -> None:
        if await self.session.get(RevokedAccessToken, jti) is None:
            self.session.add(RevokedAccessToken(jti=jti, expires_at=expires_at))
            await self.session.flush()

    async def access_state(self, user_id: uuid.UUID, jti: str) -> tuple[bool, bool]:
        """(user is active, token is revoked) in one round trip."""
        revoked = exists().where(RevokedAccessToken.jti == jti)
        row = (
            await self.session.execute(
                select(User.is_active, revoked.label("revoked")).where(User.id == user_id)
            )
        ).first()
        if row is None:
            return False, False
        return bool(row[0]), bool(row[1])

    async def purge_expired(self, *, now: datetime) -> int:
        tokens = await self.session.execute(
            delete(RefreshToken).where(RefreshToken.expires_at < now)
        )
        revoked = await self.session.execute(
            delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < now)
        )
        return int(tokens.rowcount) + int(revoked.rowcount)  # type: ignore[attr-defined]
