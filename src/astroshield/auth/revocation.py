"""Ending access: one login, or every access token of an account, on every replica.

The database holds what is revoked: a login (refresh-token family) through its rows'
``revoked_at``, an account's tokens through ``users.token_generation``. Every request
checks both (:mod:`astroshield.security.grants`); once the change is committed, the
cached answers it makes stale are dropped in this process and announced to the other
replicas (:mod:`astroshield.security.invalidation`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.auth.repository import AuthRepository
from astroshield.db import after_commit_of
from astroshield.security.context import SecurityContext
from astroshield.security.invalidation import Invalidation


def invalidate_after_commit(
    session: AsyncSession, security: SecurityContext, invalidation: Invalidation
) -> None:
    async def announce() -> None:
        await security.invalidations.announce(invalidation)

    after_commit_of(session, announce)


async def end_login(session: AsyncSession, security: SecurityContext, family_id: uuid.UUID) -> int:
    """Every refresh and access token of one login stops working; returns how many
    refresh tokens were still live."""
    revoked = await AuthRepository(session).revoke_family(family_id, now=datetime.now(UTC))
    invalidate_after_commit(session, security, Invalidation(login_id=str(family_id)))
    return revoked


async def account_changed(
    session: AsyncSession,
    security: SecurityContext,
    user_id: uuid.UUID,
    *,
    end_sessions: bool,
    keep_login: uuid.UUID | None = None,
) -> int:
    """Call in the transaction that changes an account's role, platform rights,
    organisation, activation or password.

    The account's current state applies to its existing tokens at once, on every
    replica: scopes follow the current role and platform flag, and a deactivated
    account or a token from another organisation is refused. With ``end_sessions``
    (password change, deactivation, erasure, a move to another organisation) every
    access token issued so far stops working for good, even if the account is later
    reactivated, and every login but ``keep_login`` ends. Returns how many refresh
    tokens were revoked.
    """
    ended = 0
    if end_sessions:
        repository = AuthRepository(session)
        await repository.raise_token_generation(user_id)
        ended = await repository.revoke_user_families(
            user_id, now=datetime.now(UTC), keep=keep_login
        )
    invalidate_after_commit(session, security, Invalidation(user_id=user_id))
    return ended
