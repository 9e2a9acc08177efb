"""The edge of every HTTP request: one pure-ASGI layer for what every request needs.

On the way in it gives the request an id (kept from ``X-Request-ID`` when well formed),
binds it to the log context, starts the metrics timer and opens the unit of work (a
session is created only if the handler uses one). On the way out, when the response
starts, it commits the unit (a 2xx/3xx is forwarded only after the commit succeeded; a
4xx/5xx rolls back; a failed commit replaces the response with 409/503/500), then adds
the security headers, the headers inner layers asked for (``RESPONSE_HEADERS_KEY``, e.g.
rate-limit budgets) and the request id. It records the request in the metrics whatever
happened, refusals by inner middleware included.

One layer rather than one per concern: each pure-ASGI layer wraps ``send`` in another
closure and adds frames to every request, and four of them were a large part of the cost
of a cached read (measured with ``benchmarks/api_overhead.py``).
"""

from __future__ import annotations

import random
from typing import Literal

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from astroshield.api.middleware import (
    REQUEST_ID_BYTES,
    REQUEST_LOG_KEYS,
    RESPONSE_HEADERS_KEY,
    add_missing_headers,
    security_headers,
    valid_request_id,
)
from astroshield.api.unit_of_work import UNIT_OF_WORK_KEY, send_commit_failure
from astroshield.db import UnitOfWork
from astroshield.observability.metrics import RequestMetrics
from astroshield.security.client import raw_header


class EdgeMiddleware:
    def __init__(
        self, app: ASGIApp, *, hsts: bool = False, metrics: RequestMetrics | None = None
    ) -> None:
        self.app = app
        self.security_headers = security_headers(hsts=hsts)
        self.metrics = metrics

    # One pass over the ASGI events on the hot path of every request: splitting it would
    # add a call per message (measured in the API overhead benchmark).
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        encoded_id = request_id.encode()
        app_state = scope["app"].state
        unit = UnitOfWork(getattr(app_state, "sessionmaker", None))
        state[UNIT_OF_WORK_KEY] = unit
        # Read per request: runtime configuration can pause collection.
        metrics = self.metrics if app_state.settings.metrics_enabled else None
        root_path = scope.get("root_path", "")
        status = 0
        started = False
        replaced = False

        async def send_out(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = state.get(RESPONSE_HEADERS_KEY)
                headers = add_missing_headers(
                    message, self.security_headers + extra if extra else self.security_headers
                )
                headers.append((REQUEST_ID_BYTES, encoded_id))
                message["headers"] = headers
            await send(message)

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
                        await send_commit_failure(send_out, scope, exc)
                        return
            elif replaced:
                return  # the handler's body belongs to the response that was not sent
            await send_out(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        timer = metrics.started() if metrics is not None else 0.0
        outcome: Literal["answered", "exception", "cancelled"] = "answered"
        try:
            await self.app(scope, receive, send_after_commit)
        except Exception:
            outcome = "exception"
            await unit.rollback()
            raise
        except BaseException:
            outcome = "cancelled"
            await unit.rollback()
            raise
        finally:
            try:
                await unit.close()
            finally:
                if metrics is not None:
                    metrics.finished(scope, root_path, status, timer, outcome=outcome)
                # Whatever the request bound (user, organisation) ends with it.
                structlog.contextvars.unbind_contextvars(*REQUEST_LOG_KEYS)
                structlog.contextvars.reset_contextvars(**tokens)


def _request_id(scope: Scope) -> str:
    incoming = raw_header(scope, REQUEST_ID_BYTES)
    if incoming is not None and valid_request_id(incoming):
        return incoming
    # Correlation only, not a secret: the module PRNG (reseeded in forked children) costs a
    # fraction of an os.urandom system call on every request.
    return f"{random.getrandbits(128):032x}"
