from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from astroshield.auth.models import BusCredential, RefreshToken, RevokedAccessToken
from astroshield.security.grants import AccountState
from astroshield.users.models import User


def _login_revoked(family_id: uuid.UUID | QueryableAttribute[uuid.UUID]) -> ColumnElement[bool]:
    """A login ends when any of its refresh tokens is revoked: one revoked row is enough,
    so a token a racing exchange added after the revocation cannot revive the login."""
    other = aliased(RefreshToken)  # the statement around it may be on refresh_tokens too
    return exists().where(other.family_id == family_id, other.revoked_at.is_not(None))


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
                ~_login_revoked(RefreshToken.family_id),
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

    async def revoke_user_families(
        self, user_id: uuid.UUID, *, now: datetime, keep: uuid.UUID | None = None
    ) -> int:
        """End every login of the user (but ``keep``, when given)."""
        statement = update(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
        )
        if keep is not None:
            statement = statement.where(RefreshToken.family_id != keep)
        result = await self.session.execute(statement.values(revoked_at=now))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def raise_token_generation(self, user_id: uuid.UUID) -> None:
        """Every access token issued to the user so far stops counting."""
        await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(token_generation=User.token_generation + 1)
        )

    async def revoke_access_token(self, jti: str, *, expires_at: datetime) -> None:
        if await self.session.get(RevokedAccessToken, jti) is None:
            self.session.add(RevokedAccessToken(jti=jti, expires_at=expires_at))
            await self.session.flush()

    async def account_state(
        self, user_id: uuid.UUID, jti: str | None, family_id: str | None
    ) -> AccountState | None:
        """The account and this token's revocation state, in one round trip; None when
        there is no such account (or the login id is not one of ours). Without a ``jti``
        (a bus credential, revoked by its own row) only the account is read."""
        try:
            family = None if family_id is None else uuid.UUID(family_id)
        except ValueError:
            return None
        login_revoked = false() if family is None else _login_revoked(family)
        token_revoked = false() if jti is None else exists().where(RevokedAccessToken.jti == jti)
        statement = select(
            User.organisation_id,
            User.role,
            User.is_platform_admin,
            User.is_active,
            User.token_generation,
            token_revoked.label("token_revoked"),
            login_revoked.label("login_revoked"),
        ).where(User.id == user_id)
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        return AccountState(
            organisation_id=row[0],
            role=row[1],
            is_platform_admin=bool(row[2]),
            is_active=bool(row[3]),
            token_generation=int(row[4]),
            token_revoked=bool(row[5]),
            login_revoked=bool(row[6]),
        )

    async def purge_expired(self, *, now: datetime) -> int:
        tokens = await self.session.execute(
            delete(RefreshToken).where(RefreshToken.expires_at < now)
        )
        revoked = await self.session.execute(
            delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < now)
        )
        return int(tokens.rowcount) + int(revoked.rowcount)  # type: ignore[attr-defined]

    async def count_expired(self, *, now: datetime) -> int:
        refresh = select(func.count()).where(RefreshToken.expires_at < now)
        revoked = select(func.count()).where(RevokedAccessToken.expires_at < now)
        return int((await self.session.execute(refresh)).scalar_one()) + int(
            (await self.session.execute(revoked)).scalar_one()
        )


class BusCredentialRepository:
    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    async def add(self, credential: BusCredential) -> None:
        self.session.add(credential)
        await self.session.flush()

    async def get(self, credential_id: uuid.UUID) -> BusCredential | None:
        statement = select(BusCredential).where(
            BusCredential.id == credential_id,
            BusCredential.organisation_id == self.organisation_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list(self, user_id: uuid.UUID | None) -> Sequence[BusCredential]:
        """The organisation's credentials (``user_id`` None) or one account's, newest first."""
        statement = select(BusCredential).where(
            BusCredential.organisation_id == self.organisation_id
        )
        if user_id is not None:
            statement = statement.where(BusCredential.user_id == user_id)
        statement = statement.order_by(BusCredential.created_at.desc()).limit(500)
        return (await self.session.execute(statement)).scalars().all()


async def find_bus_credential(
    session: AsyncSession, credential_id: uuid.UUID
) -> BusCredential | None:
    """By id alone: authentication does not know the organisation until it has the row."""
    return await session.get(BusCredential, credential_id)
