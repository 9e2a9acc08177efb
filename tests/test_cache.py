"""The per-process TTL cache: expiry, bound, and one load for concurrent misses."""

from __future__ import annotations

import asyncio

from astroshield.cache import TTLCache


async def test_concurrent_misses_share_one_load() -> None:
    cache = TTLCache[str, int](ttl_s=60, max_entries=10)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 42

    results = await asyncio.gather(*(cache.get_or_load("k", load) for _ in range(20)))
    assert results == [42] * 20 and calls == 1
    assert await cache.get_or_load("k", load) == 42 and calls == 1  # now cached


async def test_a_failed_load_reaches_every_waiter_and_caches_nothing() -> None:
    cache = TTLCache[str, int](ttl_s=60, max_entries=10)

    async def fail() -> int:
        await asyncio.sleep(0.02)
        raise LookupError("gone")

    outcomes = await asyncio.gather(
        *(cache.get_or_load("k", fail) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, LookupError) for o in outcomes)
    assert cache.get("k") is None and len(cache) == 0


async def test_expiry_and_bound() -> None:
    cache = TTLCache[str, int](ttl_s=0.05, max_entries=2)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(key, value)
    assert cache.get("a") is None and cache.get("c") == 3  # oldest evicted
    await asyncio.sleep(0.06)
    assert cache.get("c") is None


def test_disabled_cache_stores_nothing() -> None:
    cache = TTLCache[str, int](ttl_s=0, max_entries=10)
    cache.put("a", 1)
    assert cache.get("a") is None and not cache.enabled


async def test_a_load_overtaken_by_an_invalidation_is_answered_but_not_kept() -> None:
    cache = TTLCache[str, int](ttl_s=60, max_entries=10)
    started = asyncio.Event()

    async def slow_load() -> int:
        started.set()
        await asyncio.sleep(0.05)
        return 1  # read before the change below

    loading = asyncio.ensure_future(cache.get_or_load("k", slow_load))
    await started.wait()
    cache.discard_where(lambda value: True)
    assert await loading == 1
    assert cache.get("k") is None


async def test_discard_where_drops_only_matching_entries() -> None:
    cache = TTLCache[str, int](ttl_s=60, max_entries=10)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(key, value)
    assert cache.discard_where(lambda value: value % 2 == 1) == 2
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, None)
