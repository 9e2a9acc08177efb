"""Rate limiting with the ``limits`` library (sliding window counter).

The sliding-window counter weights the previous fixed window by how much of it still
overlaps the last N seconds: as smooth as a moving window for budgets, but O(1) per hit
(two counters per key) where a moving window stores and scans a timestamp per request.

In memory by default; with ``ASTROSHIELD_REDIS_URL`` every replica draws on one shared
budget. When Redis cannot be reached the configured mode decides: ``open`` lets the
request through and logs a warning, ``closed`` refuses it with 503.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import MemoryStorage as SyncMemoryStorage
from limits.strategies import (
    SlidingWindowCounterRateLimiter as SyncSlidingWindowCounterRateLimiter,
)
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from astroshield.api.middleware import send_problem
from astroshield.config import Settings
from astroshield.security.client import Network, client_address, parse_networks

log = structlog.get_logger(__name__)
EXEMPT_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after_s: int
    storage_failed: bool = False

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after_s))
        return headers


class RateLimiter:
    """One interface over the two backends. In memory the synchronous ``limits`` API is
    used: there is no I/O to wait for, and the asyncio variant's locks and awaits cost
    more than the counting itself on every request."""

    def __init__(
        self,
        storage: Storage | SyncMemoryStorage,
        *,
        fail_mode: Literal["open", "closed"],
    ) -> None:
        self.storage = storage
        self._async = (
            SlidingWindowCounterRateLimiter(storage) if isinstance(storage, Storage) else None
        )
        self._sync = (
            SyncSlidingWindowCounterRateLimiter(storage)
            if isinstance(storage, SyncMemoryStorage)
            else None
        )
        self.fail_mode = fail_mode

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        if not settings.redis_url:
            return cls(SyncMemoryStorage(), fail_mode=settings.rate_limit_fail_mode)
        storage = RedisStorage(
            settings.redis_url.replace("redis://", "async+redis://", 1)
            if settings.redis_url.startswith("redis://")
            else settings.redis_url,
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=f"{settings.rate_limit_namespace}-ratelimit",
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
        )
        return cls(storage, fail_mode=settings.rate_limit_fail_mode)

    async def hit(self, limit: RateLimitItem, *identifiers: str) -> Decision:
        try:
            if self._sync is not None:
                allowed = self._sync.hit(limit, *identifiers)
                stats = self._sync.get_window_stats(limit, *identifiers)
            else:
                assert self._async is not None
                allowed = await self._async.hit(limit, *identifiers)
                stats = await self._async.get_window_stats(limit, *identifiers)
        except Exception as exc:  # the storage's own errors vary by backend
            log.warning(
                "rate_limit_storage_unavailable", error=type(exc).__name__, mode=self.fail_mode
            )
            return Decision(
                allowed=self.fail_mode == "open",
                limit=limit.amount,
                remaining=0,
                reset_after_s=1,
                storage_failed=True,
            )
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, limit.amount, max(0, stats.remaining), reset)


async def send_refusal(send: Send, scope: Scope, decision: Decision) -> None:
    if decision.storage_failed:
        status, slug, title = 503, "rate-limit-unavailable", "Service unavailable"
        detail = "the rate limiter cannot be reached and the service is set to fail closed"
    else:
        status, slug, title = 429, "rate-limited", "Too many requests"
        detail = f"more than {decision.limit} requests in the window; retry later"
    await send_problem(
        send,
        scope,
        status=status,
        slug=slug,
        title=title,
        detail=detail,
        headers=decision.headers(),
    )


class ClientRateLimitMiddleware:
    """Per-client budget on every request except the probes; refuses before any work."""

    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, limit: str, trusted_proxies: list[str]
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.limit = parse(limit)
        self.trusted: tuple[Network, ...] = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = client_address(scope, self.trusted)
        scope.setdefault("state", {})["client_address"] = client
        decision = await self.limiter.hit(self.limit, "client", client)
        if not decision.allowed:
            await send_refusal(send, scope, decision)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in decision.headers().items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
