"""The one authentication path: who presents which access token, and what it may do now.

HTTP routes (through ``api.deps``), the telemetry WebSocket and the alert stream all call
these functions, so every way in gets the same checks, the same caches and the same
per-account limit.

The database is reached through :attr:`SecurityContext.account_state`, a loader the
composition root (``app.py``) wires to the auth domain's repository: this layer knows what
an account state is (``security.grants``), not where it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from functools import partial
from typing import Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from astroshield.db import session_scope
from astroshield.errors import AuthenticationError
from astroshield.security.client import raw_header
from astroshield.security.context import SecurityContext, VerifiedToken
from astroshield.security.grants import Grant, grant_for
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.security.tokens import TokenError

log = structlog.get_logger(__name__)

AuthMethod = Literal["bearer", "cookie"]
SessionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def security_of(connection: HTTPConnection) -> SecurityContext:
    security: SecurityContext = connection.app.state.security
    return security


def presented_token(connection: HTTPConnection) -> tuple[str, AuthMethod]:
    """The access token a request carries: ``Authorization: Bearer``, else the session
    cookie."""
    authorization = raw_header(connection.scope, b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError()
        return token.strip(), "bearer"
    token = connection.cookies.get(security_of(connection).access_cookie, "").strip()
    if not token:
        raise AuthenticationError()
    return token, "cookie"


async def verify_access(
    security: SecurityContext, token: str, method: AuthMethod, open_session: SessionOpener
) -> tuple[VerifiedToken, Grant]:
    """The one check of an access token, for requests and streams alike: signature and
    claims (remembered until expiry), then what it may do now according to the database
    (security.grants; remembered for at most ``auth_cache_ttl_s``, dropped on revocation).
    Raises AuthenticationError for a token that does not count."""
    verified = security.verified_tokens.get(token)
    if verified is None or verified.claims.expires_at <= datetime.now(UTC):
        try:
            verified = VerifiedToken.of(security.tokens.verify(token, "access"))
        except TokenError as exc:
            log.info("access_token_rejected", reason=str(exc), method=method)
            raise AuthenticationError() from None
        security.verified_tokens.put(token, verified)
    checked = verified
    claims = checked.claims

    async def load_grant() -> Grant:
        async with open_session() as session:
            state = await security.load_account_state(
                session, checked.user_id, claims.token_id, claims.family_id
            )
        return grant_for(checked, state)

    # Single-flight: when the entry expires under load, one query answers every waiting
    # request instead of each taking a pooled connection at the same moment.
    grant = await security.usable_tokens.get_or_load(claims.token_id, load_grant)
    if not grant.usable:
        raise AuthenticationError()
    return checked, grant


def principal_of(verified: VerifiedToken, grant: Grant, method: AuthMethod) -> Principal:
    claims = verified.claims
    return Principal(
        user_id=verified.user_id,
        organisation_id=verified.organisation_id,  # the account's: grant_for checked it
        role=grant.role,
        scopes=grant.scopes,
        token_id=claims.token_id,
        token_expires_at=claims.expires_at,
        auth_method=method,
        session_id=claims.family_id,
    )


async def principal_for_token(
    connection: HTTPConnection, token: str, method: AuthMethod = "bearer"
) -> Principal:
    """Authentication for connections without a request transaction (WebSocket, event
    streams): the checks every request gets, on a session of their own. Raises
    AuthenticationError."""
    sessionmaker: async_sessionmaker[AsyncSession] = connection.app.state.sessionmaker
    verified, grant = await verify_access(
        security_of(connection), token, method, partial(session_scope, sessionmaker)
    )
    return principal_of(verified, grant, method)


async def authority_lapsed(
    connection: HTTPConnection, token: str, method: AuthMethod, principal: Principal, scope: Scope
) -> str:
    """For long-lived streams: wait until ``token`` stops authorizing ``scope`` and say
    why, as the reason to close with.

    The token is checked again as every request checks it (same cache, same query)
    whenever a revocation is announced to this replica, at least once per auth-cache
    lifetime (1 s with the cache off), and at its expiry, which ends the stream without
    the verification leeway. A check that cannot be made ends the stream too.
    """
    security = security_of(connection)
    interval_s = security.usable_tokens.ttl_s or 1.0
    while True:
        left_s = (principal.token_expires_at - datetime.now(UTC)).total_seconds()
        if left_s <= 0:
            return "token expired"
        await security.invalidations.changed(min(interval_s, left_s))
        if datetime.now(UTC) >= principal.token_expires_at:
            return "token expired"
        try:
            current = await principal_for_token(connection, token, method)
        except AuthenticationError:
            return "token revoked"
        except Exception:
            log.exception("stream_authorization_check_failed")
            return "authorization could not be checked"
        if not current.has(scope):
            return f"the '{scope}' permission was withdrawn"
