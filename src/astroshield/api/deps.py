"""Dependencies shared by routers, as ``Annotated`` aliases.

Thin: who is calling is decided by ``security.authentication`` (the path WebSocket and
event streams use too); this module adds what only a request has (its session, CSRF on
cookie sessions, the per-account budget) and the FastAPI plumbing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from astroshield.api.middleware import UNSAFE_METHODS
from astroshield.api.state import state_of
from astroshield.api.unit_of_work import UNIT_OF_WORK_KEY
from astroshield.config import Settings
from astroshield.db import UnitOfWork
from astroshield.errors import (
    FieldError,
    ForbiddenError,
    InvalidInputError,
    RateLimitedError,
)
from astroshield.security.actor import Actor
from astroshield.security.authentication import presented_token, principal_of, verify_access
from astroshield.security.context import SecurityContext
from astroshield.security.csrf import CsrfError, check_csrf
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope


async def get_settings_from_app(request: Request) -> Settings:
    return state_of(request).settings


def session_of(request: Request) -> AsyncSession:
    """The request's session (opened on first use); the edge middleware commits it
    before a 2xx is sent."""
    unit: UnitOfWork = request.scope["state"][UNIT_OF_WORK_KEY]
    return unit.session


async def get_session(request: Request) -> AsyncSession:
    return session_of(request)


async def get_security(request: Request) -> SecurityContext:
    return state_of(request).security


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
SecurityDep = Annotated[SecurityContext, Depends(get_security)]


def request_actor(connection: HTTPConnection, principal: Principal | None = None) -> Actor:
    state = connection.scope.get("state", {})
    client = state.get("client_address") or (connection.client.host if connection.client else None)
    if principal is None:
        return Actor(None, None, state.get("request_id"), client)
    return Actor(str(principal.user_id), principal.organisation_id, state.get("request_id"), client)


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def authenticate(request: Request) -> Principal:
    """Who is calling, established once per request and shared by every dependency.

    Dependencies are resolved by plain calls here rather than FastAPI sub-dependencies:
    each resolved dependency costs microseconds on every request of every route.
    """
    state = request.scope.setdefault("state", {})
    known: Principal | None = state.get("principal")
    if known is not None:
        return known
    app_state = state_of(request)
    security = app_state.security
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
                allowed_origins=app_state.settings.cors_origins,
            )
        except CsrfError as exc:
            raise ForbiddenError(f"CSRF check failed: {exc}") from None
    decision = await security.limiter.hit(security.user_limit, "user", claims.subject)
    if not decision.allowed:
        raise RateLimitedError("too many requests for this account", headers=decision.headers())
    principal = principal_of(verified, grant, method)
    state["principal"] = principal
    structlog.contextvars.bind_contextvars(**verified.log_context)
    return principal


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
        await state_of(request).security.permission_denied(request, principal, scope)
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
