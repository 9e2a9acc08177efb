"""A bounded in-process cache with per-entry expiry for hot read paths.

Entries are dropped by the writer of this process at once; other replicas see a change
after at most ``ttl_s`` (the documented staleness bound of each cached endpoint).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, *, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V]] = {}
        # Advanced by every invalidation: a load that was already under way may have read
        # the state from before the change, so its answer is returned but not kept.
        self._epoch = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0 and self.max_entries > 0

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if time.monotonic() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        if not self.enabled:
            return
        self._entries[key] = (time.monotonic() + self.ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or ``load()``'s; concurrent misses of one key share a single
        load (when an entry expires under load, one query refills it, not one per waiter).
        """
        cached = self.get(key)
        if cached is not None:
            return cached
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        epoch = self._epoch
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(value)
            if epoch == self._epoch:
                self.put(key, value)
            return value
        finally:
            del self._loading[key]

    def invalidate(self, key: K) -> None:
        self._epoch += 1
        self._entries.pop(key, None)

    def discard_where(self, stale: Callable[[V], bool]) -> int:
        """Drop every entry whose value is ``stale``; returns how many. A scan: meant for
        rare events (a revocation), not for the read path."""
        self._epoch += 1
        keys = [key for key, (_, value) in self._entries.items() if stale(value)]
        for key in keys:
            del self._entries[key]
        return len(keys)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
