"""``/telemetry/live``: a WebSocket pushing new samples and limit alarms as they are stored.

Authentication is the API's bearer access token, in the ``Authorization`` header, the
``token`` query parameter, or, for browsers (which cannot set WebSocket headers) without
putting the token in a URL that ends up in logs, the first message:
``{"type": "auth", "token": "..."}``, sent within ``telemetry_ws_auth_timeout_s``. The
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

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from starlette.websockets import WebSocketState

from astroshield.api.state import state_of
from astroshield.db import session_scope
from astroshield.errors import AuthenticationError
from astroshield.security.authentication import authority_lapsed, principal_for_token
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.spacecraft.repository import SpacecraftRepository
from astroshield.telemetry.live import SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON, LiveHub
from astroshield.telemetry.models import TelemetryParameter

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/spacecraft/{spacecraft_id}/telemetry", tags=["telemetry"])
POLICY_VIOLATION = 1008
READ_SCOPE = Scope.TELEMETRY_READ
MAX_FILTER = 500


class RefusedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bearer(websocket: WebSocket) -> str | None:
    """The token the upgrade request carries, or None when it carries none."""
    authorization = websocket.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RefusedError("malformed Authorization header")
        return token.strip()
    return websocket.query_params.get("token", "").strip() or None


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


async def _principal(websocket: WebSocket, token: str) -> Principal:
    """The same checks as every HTTP request (api.deps), on a session of its own."""
    try:
        return await principal_for_token(websocket, token)
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
    async with session_scope(state_of(websocket).sessionmaker) as session:
        spacecraft = await SpacecraftRepository(session, principal.organisation_id).get(
            spacecraft_id
        )
        if spacecraft is None:
            raise RefusedError(f"spacecraft {spacecraft_id} not found")
        if wanted:
            statement = select(TelemetryParameter.name).where(
                TelemetryParameter.spacecraft_id == spacecraft_id,
                TelemetryParameter.name.in_(wanted),
            )
            known = set((await session.execute(statement)).scalars())
            unknown = sorted(wanted - known)
            if unknown:
                raise RefusedError(f"unknown parameters: {', '.join(unknown)[:100]}")


@router.websocket("/live")
async def live(websocket: WebSocket, spacecraft_id: str) -> None:
    hub = state_of(websocket).component(LiveHub)
    accepted = False
    try:
        try:
            spacecraft = uuid.UUID(spacecraft_id)
        except ValueError:
            raise RefusedError("spacecraft id must be a UUID") from None
        token = _bearer(websocket)
        if token is None:
            # Messages flow only on an accepted connection.
            await websocket.accept()
            accepted = True
            timeout_s = state_of(websocket).settings.telemetry_ws_auth_timeout_s
            token = await _token_from_first_message(websocket, timeout_s)
        principal = await _principal(websocket, token)
        wanted = _parameter_filter(websocket.query_params.get("parameters"))
        await _check_access(websocket, principal, spacecraft, wanted or frozenset())
    except RefusedError as refused:
        await websocket.close(code=POLICY_VIOLATION, reason=refused.reason)
        return
    except WebSocketDisconnect:
        return

    subscription = hub.subscribe(spacecraft, wanted)
    subscription.queue.put_nowait(
        {"type": "subscribed", "parameters": sorted(wanted) if wanted else None}
    )
    if not accepted:
        await websocket.accept()
    log.info("telemetry_live_connected", spacecraft_id=spacecraft_id)

    def reply(message: dict[str, object]) -> None:
        # Through the client's queue: one writer, and replies keep their place in the stream.
        try:
            subscription.queue.put_nowait(message)
        except asyncio.QueueFull:
            subscription.dropped.set()

    async def send_all() -> None:
        while True:
            await websocket.send_json(await subscription.queue.get())

    async def receive_all() -> None:
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
                await _check_access(websocket, principal, spacecraft, filter_ or frozenset())
            except RefusedError as refused:
                reply({"type": "error", "detail": refused.reason})
                continue
            subscription.parameters = filter_
            reply({"type": "subscribed", "parameters": sorted(filter_) if filter_ else None})

    # The connection lives no longer than the authority of the token that opened it.
    authority = asyncio.ensure_future(
        authority_lapsed(websocket, token, "bearer", principal, READ_SCOPE)
    )
    tasks = {
        asyncio.ensure_future(send_all()),
        asyncio.ensure_future(receive_all()),
        asyncio.ensure_future(subscription.dropped.wait()),
        authority,
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.unsubscribe(subscription)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await task
    if websocket.application_state is not WebSocketState.CONNECTED:
        return
    code, reason = 1000, ""
    if subscription.dropped.is_set():
        log.info("telemetry_live_dropped", spacecraft_id=spacecraft_id)
        code, reason = SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON
    elif authority.done() and not authority.cancelled() and authority.exception() is None:
        code, reason = POLICY_VIOLATION, authority.result()
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason)
