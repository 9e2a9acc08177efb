"""Login, refresh-token rotation with reuse detection, logout, password change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.audit.service import Actor, record, record_detached
from astroshield.auth.models import RefreshToken
from astroshield.auth.repository import AuthRepository
from astroshield.auth.revocation import account_changed, end_login, invalidate_after_commit
from astroshield.auth.schemas import TokenPair
from astroshield.db import session_scope
from astroshield.errors import AuthenticationError, FieldError, InvalidInputError, RateLimitedError
from astroshield.security import passwords, pii
from astroshield.security.context import SecurityContext
from astroshield.security.invalidation import Invalidation
from astroshield.security.principal import Principal
from astroshield.security.scopes import scopes_for
from astroshield.security.tokens import TokenClaims, TokenError
from astroshield.users.models import User
from astroshield.users.service import (
    check_new_password,
    find_account,
    find_by_email_index,
    unseal,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IssuedSession:
    pair: TokenPair
    family_id: uuid.UUID
    access: TokenClaims


async def _issue(
    session: AsyncSession, security: SecurityContext, user: User, family_id: uuid.UUID
) -> IssuedSession:
    scopes = sorted(scopes_for(user.role, platform_admin=user.is_platform_admin))
    subject, organisation = str(user.id), str(user.organisation_id)
    access_token, access = security.tokens.issue(
        "access",
        subject=subject,
        organisation_id=organisation,
        role=user.role,
        scopes=scopes,
        family_id=str(family_id),
        generation=user.token_generation,
    )
    refresh_token, refresh = security.tokens.issue(
        "refresh",
        subject=subject,
        organisation_id=organisation,
        role=user.role,
        family_id=str(family_id),
    )
    await AuthRepository(session).add_refresh_token(
        RefreshToken(
            jti=refresh.token_id,
            user_id=user.id,
            family_id=family_id,
            issued_at=refresh.issued_at,
            expires_at=refresh.expires_at,
        )
    )
    pair = TokenPair(
        access_token=access_token,
        expires_in=int((access.expires_at - access.issued_at).total_seconds()),
        refresh_token=refresh_token,
        refresh_expires_in=int((refresh.expires_at - refresh.issued_at).total_seconds()),
        scope=" ".join(scopes),
    )
    return IssuedSession(pair, family_id, access)


async def _limit_login(security: SecurityContext, client: str, email_index: str) -> None:
    for identifiers in (("login-client", client), ("login-account", email_index)):
        decision = await security.limiter.hit(security.login_limit, *identifiers)
        if not decision.allowed:
            raise RateLimitedError(
                "too many login attempts; retry later", headers=decision.headers()
            )


async def login(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    security: SecurityContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> IssuedSession:
    email_index = pii.blind_index(email, key=security.email_index_key)
    await _limit_login(security, actor.client_address or "unknown", email_index)
    user = await find_by_email_index(session, email_index)
    if user is None or user.password_hash is None:
        passwords.verify_dummy(password)  # same time as a real miss: no user enumeration
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password) and user.is_active
    if not ok or user is None:
        await record_detached(
            sessionmaker,
            actor.event(
                "auth.login_failed",
                object_type="user",
                object_id=user.id if user else None,
                organisation_id=user.organisation_id if user else None,
                email_index=email_index[:16],
            ),
        )
        raise AuthenticationError("e-mail or password is wrong, or the account is disabled")
    assert user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = datetime.now(UTC)
    issued = await _issue(session, security, user, uuid.uuid4())
    await record(
        session,
        Actor(str(user.id), user.organisation_id, actor.request_id, actor.client_address).event(
            "auth.login", object_type="user", object_id=user.id, family=str(issued.family_id)
        ),
    )
    return issued


async def refresh(
    session: AsyncSession,
    *,
    refresh_token: str,
    security: SecurityContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> IssuedSession:
    try:
        claims = security.tokens.verify(refresh_token, "refresh")
    except TokenError as exc:
        log.info("refresh_token_rejected", reason=str(exc))
        raise AuthenticationError() from None
    now = datetime.now(UTC)
    repository = AuthRepository(session)
    if not await repository.claim_refresh_token(claims.token_id, now=now):
        # End this request's transaction first: it may hold a write lock (SQLite takes
        # one for any UPDATE) that the detached transaction below would wait on.
        await session.rollback()
        stored = await repository.get_refresh_token(claims.token_id)
        if stored is not None and stored.used_at is not None and stored.revoked_at is None:
            # An exchanged token came back: someone holds a copy. Revoke the whole login,
            # in a transaction of its own because this request will fail.
            async with session_scope(sessionmaker) as detached:
                revoked = await end_login(detached, security, stored.family_id)
                await record(
                    detached,
                    actor.event(
                        "auth.refresh_reuse_detected",
                        object_type="user",
                        object_id=stored.user_id,
                        organisation_id=uuid.UUID(claims.organisation_id),
                        family=str(stored.family_id),
                        revoked_tokens=revoked,
                    ),
                )
        raise AuthenticationError()
    user = await find_account(session, uuid.UUID(claims.subject), organisation_id=None)
    if user is None or not user.is_active or str(user.organisation_id) != claims.organisation_id:
        raise AuthenticationError()
    assert claims.family_id is not None
    return await _issue(session, security, user, uuid.UUID(claims.family_id))


async def logout(
    session: AsyncSession, principal: Principal, *, security: SecurityContext, actor: Actor
) -> None:
    """End the login: the presented access token, every other access token of the same
    login and every refresh token of it, on every replica."""
    repository = AuthRepository(session)
    await repository.revoke_access_token(principal.token_id, expires_at=principal.token_expires_at)
    if principal.session_id is not None:
        await repository.revoke_family(uuid.UUID(principal.session_id), now=datetime.now(UTC))
    invalidate_after_commit(
        session,
        security,
        Invalidation(login_id=principal.session_id, token_id=principal.token_id),
    )
    await record(
        session, actor.event("auth.logout", object_type="user", object_id=principal.user_id)
    )


async def change_password(
    session: AsyncSession,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    security: SecurityContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> None:
    """Replace the caller's password. Every other login of the account ends and every
    access token issued so far stops working, the presented one included; the caller's
    own login goes on through its refresh token.

    Guessing the current password through here draws on the login budget of the account.
    """
    user = await find_account(session, principal.user_id, organisation_id=principal.organisation_id)
    if user is None or user.password_hash is None:
        raise AuthenticationError()
    await _limit_login(
        security, actor.client_address or "unknown", user.email_index or str(user.id)
    )
    if not passwords.verify_password(user.password_hash, current_password):
        await record_detached(
            sessionmaker,
            actor.event("auth.password_change_failed", object_type="user", object_id=user.id),
        )
        raise InvalidInputError(
            "the current password is wrong",
            errors=[FieldError(["body", "current_password"], "is not the current password")],
        )
    if new_password == current_password:
        raise InvalidInputError(
            "the new password is the current one",
            errors=[FieldError(["body", "new_password"], "must differ from the current password")],
        )
    context = [unseal(user, field, security.pii_keys) or "" for field in ("email", "name")]
    check_new_password(new_password, context=context, field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    keep = uuid.UUID(principal.session_id) if principal.session_id is not None else None
    ended = await account_changed(session, security, user.id, end_sessions=True, keep_login=keep)
    await record(
        session,
        actor.event(
            "auth.password_changed",
            object_type="user",
            object_id=user.id,
            refresh_tokens_revoked=ended,
        ),
    )
