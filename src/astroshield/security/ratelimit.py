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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import structlog
from limits import RateLimitItem
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from astroshield.config import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after_s: int
    storage_failed: bool = False

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The budget as ASGI header pairs, built directly: this runs on every response."""
        pairs = [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset_after_s),
        ]
        if not self.allowed:
            pairs.append((b"retry-after", b"%d" % max(1, self.reset_after_s)))
        return pairs

    def headers(self) -> dict[str, str]:
        """:meth:`raw_headers` as text, for refusals raised as errors."""
        return {name.decode(): value.decode() for name, value in self.raw_headers()}


class LocalSlidingWindowCounter:
    """The sliding-window counter of ``limits`` for one process, without its storage layer.

    ``limits``' MemoryStorage takes a thread lock, formats string keys and runs an expiry
    timer on every hit; one asyncio worker needs none of that, and that machinery cost
    more than everything else on a cached read. Same arithmetic as
    ``limits.strategies.SlidingWindowCounterRateLimiter``: the previous fixed window counts
    in proportion to how much of it still lies in the last ``expiry`` seconds.
    """

    # Keys idle for two windows carry no weight; they are swept once the table grows.
    SWEEP_ABOVE = 50_000

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # key -> [window index, count in the previous window, count in this window]
        self._windows: dict[tuple[int | str, ...], list[int]] = {}

    def hit(self, limit: RateLimitItem, identifiers: tuple[str, ...]) -> Decision:
        now = self._clock()
        expiry = limit.get_expiry()
        index = int(now // expiry)
        key: tuple[int | str, ...] = (limit.amount, expiry, *identifiers)
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self.SWEEP_ABOVE:
                self._sweep(index, expiry)
            window = self._windows[key] = [index, 0, 0]
        elif window[0] != index:
            # One window later the current count becomes the previous one; later still both lapse.
            window[1] = window[2] if window[0] == index - 1 else 0
            window[2] = 0
            window[0] = index
        elapsed = now - index * expiry
        weighted = window[1] * (expiry - elapsed) / expiry + window[2]
        allowed = math.floor(weighted) + 1 <= limit.amount
        if allowed:
            window[2] += 1
            weighted += 1
        reset = max(0, math.ceil(expiry - elapsed))
        return Decision(allowed, limit.amount, max(0, limit.amount - math.ceil(weighted)), reset)

    def _sweep(self, index: int, expiry: int) -> None:
        stale = [key for key, window in self._windows.items() if window[0] < index - 1]
        for key in stale:
            del self._windows[key]


class RateLimiter:
    """One interface over the two backends: in this process's memory, or ``limits``'
    Redis storage shared by every replica."""

    def __init__(
        self,
        storage: Storage | None,
        *,
        fail_mode: Literal["open", "closed"],
    ) -> None:
        self.storage = storage
        self._async = SlidingWindowCounterRateLimiter(storage) if storage is not None else None
        self._local = LocalSlidingWindowCounter() if storage is None else None
        self.fail_mode = fail_mode

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        if not settings.redis_url:
            return cls(None, fail_mode=settings.rate_limit_fail_mode)
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
        if self._local is not None:
            return self._local.hit(limit, identifiers)
        assert self._async is not None
        try:
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
