"""Live telemetry across replicas: two hubs on one real Redis, as two processes would be.

A message published on one hub reaches the other's clients once; the publisher's own
clients get it once too (its echo from Redis is ignored); with Redis unreachable, local
delivery goes on and publishing never raises.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import orjson
import pytest

from astroshield.telemetry.live import LiveHub, Subscription
from tests.support.replicas import REDIS_URL, eventually

pytestmark = pytest.mark.redis

SPACECRAFT = uuid.uuid4()
# Where nobody listens: a free port on this host refuses at once.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@asynccontextmanager
async def hubs(count: int, redis_url: str = REDIS_URL) -> AsyncIterator[list[LiveHub]]:
    channel = f"t-{secrets.token_hex(6)}-telemetry-live"  # never another test's channel
    started = [LiveHub(8, redis_url=redis_url, channel=channel) for _ in range(count)]
    try:
        for hub in started:
            await hub.start()
        yield started
    finally:
        for hub in started:
            await hub.stop()


def drained(subscription: Subscription) -> list[dict[str, object]]:
    messages = []
    while not subscription.queue.empty():
        messages.append(subscription.queue.get_nowait())
    return messages


def knows(hub: LiveHub, spacecraft_id: uuid.UUID) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return hub.listened_elsewhere(spacecraft_id)

    return check


def sample(n: int) -> dict[str, object]:
    return {"type": "samples", "parameter": "bus_voltage", "samples": [{"value": n}]}


async def test_a_message_crosses_to_the_other_replica_once_and_is_not_echoed() -> None:
    async with hubs(2) as (a, b):
        on_a = a.subscribe(SPACECRAFT)
        on_b = b.subscribe(SPACECRAFT)
        # Each learns that the other has a client of the spacecraft.
        assert await eventually(knows(a, SPACECRAFT))
        assert await eventually(knows(b, SPACECRAFT))

        b.publish(SPACECRAFT, sample(1))
        assert drained(on_b) == [sample(1)]  # at once, before any round trip

        async def arrived() -> bool:
            return not on_a.queue.empty()

        assert await eventually(arrived)
        await asyncio.sleep(0.3)  # time for a duplicate or an echo, were there one
        assert drained(on_a) == [sample(1)]
        assert drained(on_b) == []
        assert b.relayed["published"] == 1
        assert a.relayed["received"] == 1
        assert b.relayed["received"] == 0  # its own message came back and was ignored


async def test_nothing_goes_to_redis_for_a_spacecraft_no_replica_listens_to() -> None:
    async with hubs(2) as (a, b):
        a.subscribe(SPACECRAFT)
        assert await eventually(knows(b, SPACECRAFT))
        assert b.listening(SPACECRAFT)  # no client here, one on the other replica
        other = uuid.uuid4()
        assert not b.listening(other)
        b.publish(other, sample(1))
        await asyncio.sleep(0.2)
        assert b.relayed["published"] == 0


async def test_a_replica_that_joins_later_learns_who_listens() -> None:
    channel = f"t-{secrets.token_hex(6)}-telemetry-live"
    first = LiveHub(8, redis_url=REDIS_URL, channel=channel)
    late = LiveHub(8, redis_url=REDIS_URL, channel=channel)
    await first.start()
    try:
        first.subscribe(SPACECRAFT)
        await asyncio.sleep(0.2)  # announced before the late replica was there to hear it
        await late.start()
        # The late one asks on subscribing; it does not wait for the periodic refresh.
        assert await eventually(knows(late, SPACECRAFT), within_s=3)
    finally:
        await late.stop()
        await first.stop()


async def test_a_replica_whose_last_client_left_stops_counting() -> None:
    async with hubs(2) as (a, b):
        subscription = a.subscribe(SPACECRAFT)
        assert await eventually(knows(b, SPACECRAFT))
        a.unsubscribe(subscription)

        async def forgotten() -> bool:
            return not b.listening(SPACECRAFT)  # b has no client of its own

        assert await eventually(forgotten)


async def test_with_redis_unreachable_local_clients_are_served_and_publish_never_raises() -> None:
    async with hubs(1, DEAD_REDIS_URL) as (hub,):
        subscription = hub.subscribe(SPACECRAFT)
        # As if another replica had announced a client before Redis went away.
        heard = {"kind": "interest", "origin": "another", "spacecraft": [str(SPACECRAFT)]}
        hub._received(orjson.dumps(heard))
        for n in range(3):
            hub.publish(SPACECRAFT, sample(n))
        assert drained(subscription) == [sample(0), sample(1), sample(2)]
        assert hub.listened_elsewhere(SPACECRAFT)

        async def counted() -> bool:
            return hub.relayed["dropped"] == 3

        # Not delivered elsewhere, and said so: dropped, counted, logged.
        assert await eventually(counted)
        assert hub.relayed["published"] == 0


async def test_without_redis_the_hub_is_local_only() -> None:
    hub = LiveHub(8)
    await hub.start()
    subscription = hub.subscribe(SPACECRAFT)
    hub.publish(SPACECRAFT, sample(1))
    assert drained(subscription) == [sample(1)]
    assert hub.relayed == {"published": 0, "received": 0, "dropped": 0}
    await hub.stop()
