"""The relay without a bus and with several replicas: leases never overlap, rows without
a configured bus are kept and marked ``none``, a failing event holds back its subject."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI

from astroshield.db import session_scope, utcnow
from astroshield.events.publisher import NoBus, PublishError
from astroshield.events.relay import Relay
from astroshield.events.service import outbox_of
from tests.conftest import Factory
from tests.conjunction.conftest import operator_with
from tests.events.support import send_cdms


class FlakyBus:
    """Refuses the first publish of each event named in ``refuse``; records the rest."""

    name = "test"

    def __init__(self, refuse: set[str]) -> None:
        self.refuse, self.published = refuse, []

    async def publish(self, subject: str, payload: bytes, event_id: str) -> None:
        if event_id in self.refuse:
            self.refuse.discard(event_id)
            raise PublishError("refused once")
        self.published.append(event_id)

    async def close(self) -> None:
        return None


async def test_without_a_bus_events_are_kept_and_marked_none(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "44001")
    await send_cdms(client, me, ["ONE", "TWO"])
    relay = Relay(app.state.sessionmaker, NoBus())
    assert await relay.drain() > 0
    async with session_scope(app.state.sessionmaker) as session:
        rows = await outbox_of(session, me.organisation.id)
    assert rows and all(r.sent_at is not None and r.published_to == "none" for r in rows)
    assert {r.type for r in rows} >= {"conjunction.created", "conjunction.updated"}


async def test_concurrent_relays_never_claim_the_same_event(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "44001")
    await send_cdms(client, me, ["A", "B", "C"])
    async with session_scope(app.state.sessionmaker) as session:
        total = len(await outbox_of(session, me.organisation.id))
    relays = [Relay(app.state.sessionmaker, NoBus(), batch_size=2) for _ in range(4)]
    claims = await asyncio.gather(*(relay.claim() for relay in relays))
    claimed = [item.sequence for batch in claims for item in batch]
    assert claimed and len(claimed) == len(set(claimed)) <= total  # none leased twice
    # A subject's events are leased by one relay at a time: its order holds.
    owners: dict[str, set[int]] = {}
    for index, batch in enumerate(claims):
        for item in batch:
            owners.setdefault(item.subject, set()).add(index)
    assert all(len(holders) == 1 for holders in owners.values())


async def test_a_failed_event_holds_back_its_subject_until_its_retry(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, "44001")
    await send_cdms(client, me, ["X", "Y", "Z"])  # created, then two updates: one subject
    async with session_scope(app.state.sessionmaker) as session:
        rows = await outbox_of(session, me.organisation.id)
    order = [str(r.id) for r in rows]
    updates = [str(r.id) for r in rows if r.type == "conjunction.updated"]
    assert len(updates) == 2
    bus = FlakyBus({updates[0]})
    relay = Relay(app.state.sessionmaker, bus, retry_base_s=60, retry_max_s=60)
    await relay.run_once()  # the refusal stops the pass
    await relay.run_once()  # other subjects go on; the failed one's subject waits
    assert updates[0] not in bus.published and updates[1] not in bus.published
    assert bus.published == [i for i in order if i not in updates]
    async with session_scope(app.state.sessionmaker) as session:
        failed = [
            r for r in await outbox_of(session, me.organisation.id) if str(r.id) == updates[0]
        ]
    assert (failed[0].attempts, failed[0].last_error) == (1, "refused once")
    relay.clock = lambda: utcnow() + timedelta(seconds=61)
    await relay.drain()
    assert bus.published[-2:] == updates  # after its retry, and in order
    assert sorted(bus.published) == sorted(order)
