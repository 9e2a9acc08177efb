"""One transaction per request, committed before the response starts.

A 2xx (or 3xx) is forwarded only after the commit succeeded, so an acknowledged write is
durable; a 4xx/5xx or an exception rolls back, so no request leaves half its writes.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from astroshield.api.middleware import send_problem
from astroshield.db import UnitOfWork

UNIT_OF_WORK_KEY = "unit_of_work"
log = structlog.get_logger(__name__)


class UnitOfWorkMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        unit = UnitOfWork(scope["app"].state.sessionmaker)
        scope.setdefault("state", {})[UNIT_OF_WORK_KEY] = unit
        started = False
        replaced = False

        async def send_after_commit(message: Message) -> None:
            nonlocal started, replaced
            if message["type"] == "http.response.start" and not started:
                started = True
                if message["status"] >= 400:
                    await unit.rollback()
                else:
                    try:
                        await unit.commit()
                    except Exception as exc:
                        await unit.rollback()
                        replaced = True
                        await _send_commit_failure(send, scope, exc)
                        return
            elif replaced:
                return  # the handler's body belongs to the response that was not sent
            await send(message)

        try:
            await self.app(scope, receive, send_after_commit)
        except BaseException:
            await unit.rollback()
            raise
        finally:
            await unit.close()


async def _send_commit_failure(send: Send, scope: Scope, exc: Exception) -> None:
    if isinstance(exc, IntegrityError):
        await send_problem(
            send,
            scope,
            status=409,
            slug="conflict",
            title="Conflict with the current state",
            detail="the change conflicts with data written concurrently; nothing was saved",
        )
    elif isinstance(exc, DBAPIError):
        log.warning("commit_failed", error=type(exc).__name__)
        await send_problem(
            send,
            scope,
            status=503,
            slug="service-unavailable",
            title="Service unavailable",
            detail="the database did not accept the change; nothing was saved, retry later",
        )
    else:
        log.error("commit_failed", exc_info=exc)
        await send_problem(
            send,
            scope,
            status=500,
            slug="internal-error",
            title="Internal server error",
            detail="the change could not be saved; it has been logged",
        )
