"""Token endpoints for API clients (Bearer) and a cookie session for browsers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from astroshield.api.deps import (
    ActorDep,
    CurrentPrincipal,
    SecurityDep,
    SessionDep,
    request_actor,
)
from astroshield.api.state import state_of
from astroshield.auth import bus_credentials, service
from astroshield.auth.schemas import (
    BrowserSession,
    BusCredentialCreate,
    BusCredentialIssued,
    BusCredentialRead,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    TokenPair,
)
from astroshield.db import utcnow
from astroshield.errors import AuthenticationError, ForbiddenError
from astroshield.security.context import SecurityContext
from astroshield.security.csrf import ALLOWED_FETCH_SITES, csrf_token
from astroshield.users.schemas import UserRead
from astroshield.users.service import get_user, to_read

router = APIRouter(prefix="/auth", tags=["auth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


@router.post("/token", responses={401: {"description": "wrong credentials"}})
async def issue_token(
    data: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    security: SecurityDep,
) -> TokenPair:
    """Log in with e-mail and password; returns a short-lived access token and a rotating
    refresh token."""
    issued = await service.login(
        session,
        email=data.email,
        password=data.password,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=request_actor(request),
    )
    response.headers.update(NO_STORE)
    return issued.pair


@router.post("/refresh", responses={401: {"description": "invalid, used or revoked"}})
async def refresh_token(
    data: RefreshRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    security: SecurityDep,
) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once: presenting
    it again revokes the whole login."""
    issued = await service.refresh(
        session,
        refresh_token=data.refresh_token,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=request_actor(request),
    )
    response.headers.update(NO_STORE)
    return issued.pair


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    principal: CurrentPrincipal, session: SessionDep, security: SecurityDep, actor: ActorDep
) -> Response:
    """End the login: every access and refresh token of it, on every replica."""
    await service.logout(session, principal, security=security, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={422: {"description": "current password wrong, or new one refused by policy"}},
)
async def change_password(
    data: PasswordChange,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    security: SecurityDep,
    actor: ActorDep,
) -> Response:
    """Change your password. Every other login of the account ends, and every access
    token issued so far stops working, this one included: exchange this login's refresh
    token (``/auth/refresh`` or ``/auth/session/refresh``) for a new pair."""
    await service.change_password(
        session,
        principal,
        current_password=data.current_password,
        new_password=data.new_password,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=actor,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)


@router.get("/me")
async def me(principal: CurrentPrincipal, session: SessionDep, security: SecurityDep) -> UserRead:
    user = await get_user(session, principal, principal.user_id)
    return to_read(user, security.pii_keys)


REFRESH_COOKIE_PATH = "/api/v1/auth/session"


def _session_cookies(security: SecurityContext) -> tuple[tuple[str, str, bool], ...]:
    """(name, path, HttpOnly) of the three session cookies. The CSRF cookie is readable
    by the page on purpose: it must copy it into the X-CSRF-Token header."""
    return (
        (security.access_cookie, "/", True),
        (security.refresh_cookie, REFRESH_COOKIE_PATH, True),
        (security.csrf_cookie, "/", False),
    )


def _set_session_cookies(
    response: Response, security: SecurityContext, pair: TokenPair, csrf: str
) -> None:
    values = (
        (pair.access_token, pair.expires_in),
        (pair.refresh_token, pair.refresh_expires_in),
        (csrf, pair.refresh_expires_in),
    )
    for (name, path, httponly), (value, max_age) in zip(
        _session_cookies(security), values, strict=True
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            httponly=httponly,
            secure=security.secure_cookies,
            samesite="strict",
        )


def _refuse_cross_site(request: Request) -> None:
    # Login CSRF: a foreign page must not log the browser into an attacker's account.
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ALLOWED_FETCH_SITES:
        raise ForbiddenError("cross-site login refused")


@router.post("/session", responses={401: {"description": "wrong credentials"}})
async def browser_login(
    data: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    security: SecurityDep,
) -> BrowserSession:
    """Browser login: tokens in HttpOnly SameSite=Strict cookies, CSRF token returned."""
    _refuse_cross_site(request)
    issued = await service.login(
        session,
        email=data.email,
        password=data.password,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=request_actor(request),
    )
    return _browser_session(response, security, issued)


def _browser_session(
    response: Response, security: SecurityContext, issued: service.IssuedSession
) -> BrowserSession:
    """Hand a browser its login: tokens in cookies, the CSRF token bound to the login."""
    csrf = csrf_token(security.csrf_secret, str(issued.family_id))
    _set_session_cookies(response, security, issued.pair, csrf)
    response.headers.update(NO_STORE)
    return BrowserSession(csrf_token=csrf, expires_in=issued.pair.expires_in)


@router.post("/session/refresh", responses={401: {"description": "invalid, used or revoked"}})
async def browser_refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    security: SecurityDep,
) -> BrowserSession:
    _refuse_cross_site(request)
    token = request.cookies.get(security.refresh_cookie)
    if not token:
        raise AuthenticationError()
    issued = await service.refresh(
        session,
        refresh_token=token,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=request_actor(request),
    )
    return _browser_session(response, security, issued)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def browser_logout(
    principal: CurrentPrincipal, session: SessionDep, security: SecurityDep, actor: ActorDep
) -> Response:
    await service.logout(session, principal, security=security, actor=actor)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    for name, path, _ in _session_cookies(security):
        response.delete_cookie(name, path=path, secure=security.secure_cookies, samesite="strict")
    return response


@router.post(
    "/bus-credentials",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "a scope the bus does not land, or you do not hold"}},
)
async def create_bus_credential(
    data: BusCredentialCreate,
    response: Response,
    principal: CurrentPrincipal,
    session: SessionDep,
    actor: ActorDep,
) -> BusCredentialIssued:
    """A credential for a machine publishing telemetry or CDMs on the bus
    (docs/inbound.md): it acts as you, with the scopes given (never more than you hold).
    The token is shown once."""
    issued = await bus_credentials.create(
        session,
        principal,
        actor,
        name=data.name,
        scopes=data.scopes,
        expires_in_days=data.expires_in_days,
        now=utcnow(),
    )
    response.headers.update(NO_STORE)
    read = BusCredentialRead.model_validate(issued.credential)
    return BusCredentialIssued(**read.model_dump(), token=issued.token)


@router.get("/bus-credentials")
async def list_bus_credentials(
    principal: CurrentPrincipal, session: SessionDep
) -> list[BusCredentialRead]:
    """Your bus credentials (the organisation's, for its administrators), newest first."""
    credentials = await bus_credentials.list_credentials(session, principal)
    return [BusCredentialRead.model_validate(item) for item in credentials]


@router.delete("/bus-credentials/{credential_id}")
async def revoke_bus_credential(
    credential_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, actor: ActorDep
) -> BusCredentialRead:
    """Revoke at once: the next message carrying it is dead-lettered."""
    credential = await bus_credentials.revoke(session, principal, actor, credential_id, utcnow())
    return BusCredentialRead.model_validate(credential)
