"""``/telemetry/live``: a WebSocket pushing new samples and limit alarms as they are stored.

Authentication is the API's bearer access token, in the ``Authorization`` header, the
``token`` query parameter, or, for browsers (which cannot set WebSocket headers) without
putting the token in a URL that ends up in logs, the first message:
``{"type": "auth", "token": "..."}``, sent within ``telemetry_ws_auth_timeout_s``. The
browser session cookie counts only on an upgrade whose ``Origin`` is this service's own
host (the operator console's pages): a browser sends the cookie with a WebSocket any site
opens, WebSockets have no CORS, and ``Origin`` is the one header a page cannot forge. The
caller needs ``telemetry:read`` and sees only its organisation's spacecraft. A refused
connection is closed with 1008 (policy violation) and the reason: before it is accepted
when the token came with the request, after it when the token was awaited as a message.
An open connection is closed with 1008 too once its token expires ("token expired") or
stops counting ("token revoked": logout, password change, deactivation, ...; noticed at
once when announced to this replica, else within the auth-cache lifetime).

Messages to the client: ``{"type": "subscribed", "parameters": [...] | null}`` first, then
``samples`` and ``alarm`` messages as ingest publishes them. The client may send
``{"type": "subscribe", "parameters": [...] | null}`` to change its filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from astroshield.api.state import state_of
from astroshield.db import session_scope
from astroshield.errors import AuthenticationError, InvalidInputError, NotFoundError
from astroshield.features.catalogue import Flag
from astroshield.features.gate import feature_refusal
from astroshield.security.authentication import (
    AuthMethod,
    authority_lapsed,
    presented_token,
    principal_for_token,
    security_of,
)
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.telemetry.dictionary import check_subscription
from astroshield.telemetry.live import (
    SLOW_CONSUMER_CODE,
    SLOW_CONSUMER_REASON,
    LiveHub,
    Subscription,
)

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/spacecraft/{spacecraft_id}/telemetry", tags=["telemetry"])
POLICY_VIOLATION = 1008
READ_SCOPE = Scope.TELEMETRY_READ
MAX_FILTER = 500


class RefusedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _request_token(websocket: WebSocket) -> tuple[str, AuthMethod] | None:
    """The token the upgrade request carries, or None when it carries none: the
    ``Authorization`` header read as for every request, else the ``token`` query
    parameter, else the session cookie of a same-origin page (:func:`_same_origin_cookie`)."""
    if "authorization" not in websocket.headers:
        query_token = websocket.query_params.get("token", "").strip()
        if query_token:
            return query_token, "bearer"
        return _same_origin_cookie(websocket)
    try:
        return presented_token(websocket)
    except AuthenticationError:
        raise RefusedError("malformed Authorization header") from None


def _same_origin_cookie(websocket: WebSocket) -> tuple[str, AuthMethod] | None:
    """The session cookie, when the upgrade comes from a page of this service's own origin.

    A cross-site page's socket carries the cookie too (WebSockets have no CORS), but its
    ``Origin`` names the other site; a client without ``Origin`` is not a browser page and
    sends a bearer token. Otherwise the connection falls back to the auth message, so a
    page elsewhere that authenticates with its own token still works.
    """
    token = websocket.cookies.get(security_of(websocket).access_cookie, "").strip()
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    if not token or origin is None or not host:
        return None
    if urlsplit(origin).netloc.lower() != host.lower():
        return None
    return token, "cookie"


_AUTH_MESSAGE = '{"type": "auth", "token": ...}'


async def _token_from_first_message(websocket: WebSocket, timeout_s: float) -> str:
    """Wait (on an accepted connection) for the auth message a browser sends first."""
    try:
        message = await asyncio.wait_for(websocket.receive_json(), timeout_s)
    except TimeoutError:
        raise RefusedError(
            f"authentication required: send {_AUTH_MESSAGE} within {timeout_s:g} s"
        ) from None
    except (ValueError, KeyError):  # not JSON, or a binary frame
        message = None
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise RefusedError(f"authentication required: the first message must be {_AUTH_MESSAGE}")
    token = message.get("token")
    if not isinstance(token, str) or not token.strip():
        raise RefusedError("authentication required: the auth message has no token")
    return token.strip()


async def _principal(websocket: WebSocket, token: str, method: AuthMethod) -> Principal:
    """The same checks as every HTTP request (security.authentication), on a session of its own."""
    try:
        return await principal_for_token(websocket, token, method)
    except AuthenticationError:
        raise RefusedError("invalid or expired token") from None


def _parameter_filter(raw: object) -> frozenset[str] | None:
    if raw is None:
        return None
    names = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RefusedError("parameters must be a list of names")
    cleaned = frozenset(n.strip() for n in names if n.strip())
    if len(cleaned) > MAX_FILTER:
        raise RefusedError(f"at most {MAX_FILTER} parameters")
    return cleaned or None


async def _check_access(
    websocket: WebSocket, principal: Principal, spacecraft_id: uuid.UUID, wanted: frozenset[str]
) -> None:
    if not principal.has(READ_SCOPE):
        raise RefusedError(f"this stream needs the '{READ_SCOPE}' permission")
    if disabled := feature_refusal(websocket, Flag.LIVE_STREAMS, principal):
        raise RefusedError(disabled)
    try:
        async with session_scope(state_of(websocket).sessionmaker) as session:
            await check_subscription(session, principal, spacecraft_id, wanted)
    except (NotFoundError, InvalidInputError) as refused:
        raise RefusedError(refused.detail) from None


@dataclass
class _Client:
    """An authenticated, authorized connection, before it streams."""

    spacecraft_id: uuid.UUID
    token: str
    method: AuthMethod
    principal: Principal
    wanted: frozenset[str] | None
    accepted: bool


async def _admit(websocket: WebSocket, spacecraft_id: str) -> _Client:
    """Authenticate and authorize the connection; RefusedError says why not."""
    try:
        spacecraft = uuid.UUID(spacecraft_id)
    except ValueError:
        raise RefusedError("spacecraft id must be a UUID") from None
    accepted = False
    presented = _request_token(websocket)
    if presented is None:
        # Messages flow only on an accepted connection.
        await websocket.accept()
        accepted = True
        timeout_s = state_of(websocket).settings.telemetry_ws_auth_timeout_s
        token = await _token_from_first_message(websocket, timeout_s)
        method: AuthMethod = "bearer"
    else:
        token, method = presented
    principal = await _principal(websocket, token, method)
    wanted = _parameter_filter(websocket.query_params.get("parameters"))
    await _check_access(websocket, principal, spacecraft, wanted or frozenset())
    return _Client(spacecraft, token, method, principal, wanted, accepted)


async def _receive_all(websocket: WebSocket, client: _Client, subscription: Subscription) -> None:
    """Answer the client's subscribe messages until it goes away."""

    def reply(message: dict[str, object]) -> None:
        # Through the client's queue: one writer, and replies keep their place in the stream.
        try:
            subscription.queue.put_nowait(message)
        except asyncio.QueueFull:
            subscription.dropped.set()

    while True:
        try:
            message = await websocket.receive_json()
        except ValueError:
            reply({"type": "error", "detail": "messages must be JSON"})
            continue
        if not isinstance(message, dict) or message.get("type") != "subscribe":
            reply({"type": "error", "detail": 'expected {"type": "subscribe", ...}'})
            continue
        try:
            filter_ = _parameter_filter(message.get("parameters"))
            await _check_access(
                websocket, client.principal, client.spacecraft_id, filter_ or frozenset()
            )
        except RefusedError as refused:
            reply({"type": "error", "detail": refused.reason})
            continue
        subscription.parameters = filter_
        reply({"type": "subscribed", "parameters": sorted(filter_) if filter_ else None})


async def _send_all(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        await websocket.send_json(await subscription.queue.get())


async def _serve(
    websocket: WebSocket, client: _Client, subscription: Subscription
) -> asyncio.Future[str]:
    """Stream until the client leaves, falls behind, or its token stops counting; the
    authority watch is returned to tell the last case."""
    # The connection lives no longer than the authority of the token that opened it.
    authority = asyncio.ensure_future(
        authority_lapsed(websocket, client.token, client.method, client.principal, READ_SCOPE)
    )
    tasks = {
        asyncio.ensure_future(_send_all(websocket, subscription)),
        asyncio.ensure_future(_receive_all(websocket, client, subscription)),
        asyncio.ensure_future(subscription.dropped.wait()),
        authority,
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await task
    return authority


def _close_code(
    subscription: Subscription, authority: asyncio.Future[str], spacecraft_id: str
) -> tuple[int, str]:
    if subscription.dropped.is_set():
        log.info("telemetry_live_dropped", spacecraft_id=spacecraft_id)
        return SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON
    if authority.done() and not authority.cancelled() and authority.exception() is None:
        return POLICY_VIOLATION, authority.result()
    return 1000, ""


@router.websocket("/live")
async def live(websocket: WebSocket, spacecraft_id: str) -> None:
    hub = state_of(websocket).component(LiveHub)
    try:
        client = await _admit(websocket, spacecraft_id)
    except RefusedError as refused:
        await websocket.close(code=POLICY_VIOLATION, reason=refused.reason)
        return
    except WebSocketDisconnect:
        return

    subscription = hub.subscribe(client.spacecraft_id, client.wanted)
    subscription.queue.put_nowait(
        {"type": "subscribed", "parameters": sorted(client.wanted) if client.wanted else None}
    )
    try:
        if not client.accepted:
            await websocket.accept()
        log.info("telemetry_live_connected", spacecraft_id=spacecraft_id)
        authority = await _serve(websocket, client, subscription)
    finally:
        hub.unsubscribe(subscription)
    if websocket.application_state is not WebSocketState.CONNECTED:
        return
    code, reason = _close_code(subscription, authority, spacecraft_id)
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason)
