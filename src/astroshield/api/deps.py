"""Dependencies shared by routers, as ``Annotated`` aliases."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from astroshield.api.middleware import UNSAFE_METHODS, raw_header
from astroshield.api.unit_of_work import UNIT_OF_WORK_KEY
from astroshield.audit.service import Actor, record_detached
from astroshield.auth.repository import AuthRepository
from astroshield.config import Settings
from astroshield.db import UnitOfWork, session_scope
from astroshield.errors import (
    AuthenticationError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    RateLimitedError,
)
from astroshield.security.context import SecurityContext, VerifiedToken
from astroshield.security.csrf import CsrfError, check_csrf
from astroshield.security.grants import Grant, grant_for
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.security.tokens import TokenError

log = structlog.get_logger(__name__)


async def get_settings_from_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def session_of(request: Request) -> AsyncSession:
    """The request's session (opened on first use); the edge middleware commits it
    before a 2xx is sent."""
    unit: UnitOfWork = request.scope["state"][UNIT_OF_WORK_KEY]
    return unit.session


async def get_session(request: Request) -> AsyncSession:
    return session_of(request)


async def get_security(request: Request) -> SecurityContext:
    security: SecurityContext = request.app.state.security
    return security


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
SecurityDep = Annotated[SecurityContext, Depends(get_security)]


def request_actor(request: Request, principal: Principal | None = None) -> Actor:
    state = request.scope.get("state", {})
    client = state.get("client_address") or (request.client.host if request.client else None)
    if principal is None:
        return Actor(None, None, state.get("request_id"), client)
    return Actor(str(principal.user_id), principal.organisation_id, state.get("request_id"), client)


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


AuthMethod = Literal["bearer", "cookie"]
SessionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def presented_token(connection: HTTPConnection) -> tuple[str, AuthMethod]:
    """The access token a request carries: ``Authorization: Bearer``, else the session
    cookie."""
    authorization = raw_header(connection.scope, b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError()
        return token.strip(), "bearer"
    security: SecurityContext = connection.app.state.security
    token = connection.cookies.get(security.access_cookie, "").strip()
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
            state = await AuthRepository(session).account_state(
                checked.user_id, claims.token_id, claims.family_id
            )
        return grant_for(checked, state)

    # Single-flight: when the entry expires under load, one query answers every waiting
    # request instead of each taking a pooled connection at the same moment.
    grant = await security.usable_tokens.get_or_load(claims.token_id, load_grant)
    if not grant.usable:
        raise AuthenticationError()
    return checked, grant


def _principal(verified: VerifiedToken, grant: Grant, method: AuthMethod) -> Principal:
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


async def authenticate(request: Request) -> Principal:
    """Who is calling, established once per request and shared by every dependency.

    Dependencies are resolved by plain calls here rather than FastAPI sub-dependencies:
    each resolved dependency costs microseconds on every request of every route.
    """
    state = request.scope.setdefault("state", {})
    known: Principal | None = state.get("principal")
    if known is not None:
        return known
    security: SecurityContext = request.app.state.security
    token, method = presented_token(request)
    verified, grant = await verify_access(
        security, token, method, lambda: nullcontext(session_of(request))
    )
    claims = verified.claims
    if method == "cookie" and request.method in UNSAFE_METHODS:
        try:
            check_csrf(
                request.headers,
                request.cookies,
                secret=security.csrf_secret,
                session_id=claims.family_id or claims.token_id,
                cookie_name=security.csrf_cookie,
                own_origin=_origin(request),
                allowed_origins=request.app.state.settings.cors_origins,
            )
        except CsrfError as exc:
            raise ForbiddenError(f"CSRF check failed: {exc}") from None
    decision = await security.limiter.hit(security.user_limit, "user", claims.subject)
    if not decision.allowed:
        raise RateLimitedError("too many requests for this account", headers=decision.headers())
    principal = _principal(verified, grant, method)
    state["principal"] = principal
    structlog.contextvars.bind_contextvars(**verified.log_context)
    return principal


async def principal_for_token(
    connection: HTTPConnection, token: str, method: AuthMethod = "bearer"
) -> Principal:
    """:func:`authenticate` for connections without a request transaction (WebSocket):
    the same checks, on a session of their own. Raises AuthenticationError."""
    app = connection.app
    verified, grant = await verify_access(
        app.state.security, token, method, partial(session_scope, app.state.sessionmaker)
    )
    return _principal(verified, grant, method)


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
    security: SecurityContext = connection.app.state.security
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


async def get_principal(request: Request) -> Principal:
    return await authenticate(request)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def authorize(request: Request, scope: Scope) -> Principal:
    """The caller, if they hold ``scope``; everyone else is refused and audited.

    Hot read routes call this directly instead of declaring a dependency: FastAPI's
    dependency resolution is the largest cost of a cached read.
    """
    principal = await authenticate(request)
    if not principal.has(scope):
        await record_detached(
            request.app.state.sessionmaker,
            request_actor(request, principal).event(
                "auth.permission_denied",
                object_type="route",
                object_id=request.url.path,
                scope=scope,
                method=request.method,
            ),
        )
        raise ForbiddenError(f"this action needs the '{scope}' permission")
    return principal


def require_scope(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits principals holding ``scope`` and audits everyone else."""

    async def check(request: Request) -> Principal:
        return await authorize(request, scope)

    return check


async def get_actor(request: Request) -> Actor:
    return request_actor(request, await authenticate(request))


ActorDep = Annotated[Actor, Depends(get_actor)]


def path_uuid(request: Request, name: str) -> uuid.UUID:
    """A UUID path parameter parsed by hand, for hot routes that skip FastAPI's parameter
    resolution; a malformed value is refused as FastAPI would (422 naming the parameter)."""
    raw = request.path_params[name]
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInputError(
            f"1 invalid field(s): path.{name}",
            errors=[FieldError(["path", name], "Input should be a valid UUID")],
        ) from None


def uuid_path_parameter(name: str, description: str) -> dict[str, Any]:
    """The OpenAPI declaration of a path parameter read with :func:`path_uuid`."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": description,
                "schema": {"type": "string", "format": "uuid", "title": name.replace("_", " ")},
            }
        ]
    }
