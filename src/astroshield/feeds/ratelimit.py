"""Sliding-window request budgets with an injectable clock (pure: no web or DB imports).

Space-Track allows at most 30 requests in any 60 s and 300 in any hour, login included;
each window is a true sliding window over the times of the requests made, so no 60 s
interval anywhere ever holds more than the budget."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Window:
    limit: int
    seconds: float


SPACE_TRACK_WINDOWS = (Window(30, 60.0), Window(300, 3600.0))


class SlidingWindowLimiter:
    """``await acquire()`` returns when one more request fits every window, and counts it."""

    def __init__(
        self,
        windows: Sequence[Window] = SPACE_TRACK_WINDOWS,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not windows:
            raise ValueError("at least one window")
        self.windows = tuple(windows)
        self.clock, self.sleep = clock, sleep
        self._times: deque[float] = deque()
        self._horizon = max(window.seconds for window in self.windows)
        self._lock = asyncio.Lock()

    def delay(self, now: float) -> float:
        """Seconds until one more request fits every window (0: now)."""
        while self._times and self._times[0] <= now - self._horizon:
            self._times.popleft()
        wait = 0.0
        for window in self.windows:
            inside = [t for t in self._times if t > now - window.seconds]
            if len(inside) >= window.limit:
                # The request that frees a slot is the limit-th newest in the window.
                wait = max(wait, inside[-window.limit] + window.seconds - now)
        return wait

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.delay(self.clock())) > 0:
                await self.sleep(wait)
            self._times.append(self.clock())

    @property
    def made(self) -> int:
        """Requests counted within the longest window."""
        return len(self._times)
