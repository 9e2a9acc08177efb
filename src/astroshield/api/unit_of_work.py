"""One transaction per request, committed before the response starts.

A 2xx (or 3xx) is forwarded only after the commit succeeded, so an acknowledged write is
durable; a 4xx/5xx or an exception rolls back, so no request leaves half its writes. The
edge middleware (:mod:`astroshield.api.edge`) runs the unit; this module says what a
failed commit answers.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.types import Scope, Send

from astroshield.errors import send_problem

UNIT_OF_WORK_KEY = "unit_of_work"
log = structlog.get_logger(__name__)


async def send_commit_failure(send: Send, scope: Scope, exc: Exception) -> None:
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
