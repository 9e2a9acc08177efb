"""The relay against real NATS JetStream: exactly once at a subscriber across a relay
crash between publish and mark-sent, nothing for a rolled-back change, nothing lost while
the bus is down, drained in order when it returns; a stream bound elsewhere is refused."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from astroshield.app import create_app
from astroshield.db import utcnow
from astroshield.events.publisher import JetStreamPublisher
from astroshield.events.relay import Relay
from tests.conftest import Factory, settings_for
from tests.conjunction.conftest import operator_with, upload
from tests.events.bus import connected, private_nats, require_shared_nats, stored_messages
from tests.events.support import cdm_body, outbox_state, send_cdms
from tests.support.replicas import eventually

STREAM = "ASTROSHIELD"


def _relay(app: FastAPI, url: str, **kw: object) -> Relay:
    options: dict[str, object] = {"lease_s": 30.0, "retry_base_s": 0.05, "retry_max_s": 0.2}
    options.update(kw)
    return Relay(app.state.sessionmaker, JetStreamPublisher(url, STREAM), **options)  # type: ignore[arg-type]


def _ids(messages: list[object]) -> list[str]:
    return [json.loads(m.data)["id"] for m in messages]  # type: ignore[attr-defined]


async def test_an_event_arrives_once_despite_a_relay_crash_between_publish_and_mark(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    me = await operator_with(factory, "44001")
    await send_cdms(client, me, ["FIRST"])
    ids, sent = await outbox_state(app, me)
    assert ids and sent == [False] * len(ids)

    crashed = _relay(app, url)
    batch = await crashed.claim()
    outcome = await crashed.publish(batch)  # published ... and the process dies here
    assert len(outcome.sent) == len(ids)
    await crashed.close()
    assert (await outbox_state(app, me))[1] == [False] * len(ids)  # never marked

    # A fresh relay once the dead one's lease has expired.
    later = _relay(app, url, clock=lambda: utcnow() + timedelta(seconds=31))
    assert await later.drain() == len(ids)
    await later.close()
    assert (await outbox_state(app, me))[1] == [True] * len(ids)

    messages = await stored_messages(url, STREAM, f"astroshield.events.{me.organisation.slug}.>")
    assert _ids(messages) == ids  # each once, in order
    first = messages[0]
    assert first.headers["Nats-Msg-Id"] == ids[0]
    assert first.subject == f"astroshield.events.{me.organisation.slug}.conjunction.created"
    assert json.loads(first.data)["type"] == "conjunction.created"


async def test_no_event_reaches_the_bus_for_a_rolled_back_change(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    me = await operator_with(factory, "44001")
    # Refused after parsing (the CDM names no spacecraft of the caller): rolled back.
    refused = await upload(
        client,
        cdm_body("NOT-OURS", 10.0, 1, datetime.now(UTC)).replace(b"44001", b"55001"),
        me.headers,
    )
    assert refused.status_code == 422, refused.text
    await send_cdms(client, me, ["KEPT"])
    relay = _relay(app, url)
    await relay.drain()
    await relay.close()
    messages = await stored_messages(url, STREAM, f"astroshield.events.{me.organisation.slug}.>")
    assert [
        json.loads(m.data)["data"]["message_id"]
        for m in messages
        if b"conjunction" in m.subject.encode()
    ] == ["KEPT"]


async def test_events_wait_while_nats_is_down_and_drain_in_order(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, tmp_path: Path
) -> None:
    me = await operator_with(factory, "44001")
    async with private_nats(tmp_path / "store") as server:
        relay = _relay(app, server.url)
        await send_cdms(client, me, ["A1", "A2"])
        assert await relay.drain() > 0

        server.stop()
        await send_cdms(client, me, ["B1", "B2", "B3"])
        outcome = await relay.run_once()
        assert outcome.sent == [] and len(outcome.failed) == 1  # the bus is down: one try
        ids, sent = await outbox_state(app, me)
        pending = sent.count(False)
        assert pending > 0
        assert REGISTRY.get_sample_value("astroshield_outbox_pending") == pending
        assert REGISTRY.get_sample_value("astroshield_component_up", {"component": "nats"}) == 0
        await send_cdms(client, me, ["C1"])  # still accepted: the outbox holds it

        await server.start()
        clock_offset = timedelta(0)

        async def drained() -> bool:
            nonlocal clock_offset
            clock_offset += timedelta(seconds=1)  # past any backoff
            await relay.run_once()
            return all((await outbox_state(app, me))[1])

        relay.clock = lambda: utcnow() + clock_offset
        assert await eventually(drained, within_s=30)
        await relay.close()
        ids, _ = await outbox_state(app, me)
        messages = await stored_messages(
            server.url, STREAM, f"astroshield.events.{me.organisation.slug}.>"
        )
        assert _ids(messages) == ids  # nothing lost, nothing twice, in outbox order
        assert REGISTRY.get_sample_value("astroshield_outbox_pending") == 0


async def test_a_stream_bound_to_other_subjects_is_reported_not_changed() -> None:
    url = require_shared_nats()
    name = f"MISMATCH_{uuid.uuid4().hex[:8]}"
    async with connected(url) as client:
        jetstream = client.jetstream()
        await jetstream.add_stream(name=name, subjects=[f"elsewhere.{name}.>"])
        try:
            publisher = JetStreamPublisher(url, name)
            assert await publisher.start() is False
            assert REGISTRY.get_sample_value("astroshield_component_up", {"component": "nats"}) == 0
            await publisher.close()
            info = await jetstream.stream_info(name)
            assert info.config.subjects == [f"elsewhere.{name}.>"]  # left as it was
        finally:
            await jetstream.delete_stream(name)


async def test_the_service_relays_by_itself_when_a_bus_is_configured(
    app: FastAPI, database_url: str, tmp_path: Path
) -> None:
    async with private_nats(tmp_path / "store") as server:
        settings = settings_for(database_url, nats_url=server.url, outbox_relay_interval_s=0.05)
        service = create_app(settings)
        async with service.router.lifespan_context(service):
            me = await operator_with(Factory(service), "44001")
            transport = httpx.ASGITransport(app=service, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await send_cdms(client, me, ["LIVE"])

            async def published() -> bool:
                return all((await outbox_state(service, me))[1])

            assert await eventually(published, within_s=30)
            assert REGISTRY.get_sample_value("astroshield_component_up", {"component": "nats"}) == 1
        ids, _ = await outbox_state(app, me)
        messages = await stored_messages(
            server.url, STREAM, f"astroshield.events.{me.organisation.slug}.>"
        )
        assert _ids(messages) == ids


async def test_an_unreachable_bus_keeps_the_events_and_reports_it(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"nats://127.0.0.1:{probe.getsockname()[1]}"
    me = await operator_with(factory, "44001")
    await send_cdms(client, me, ["WAITING"])
    relay = Relay(app.state.sessionmaker, JetStreamPublisher(url, STREAM, timeout_s=0.5))
    assert await relay.start() is False  # bounded: the first connection is not retried forever
    outcome = await relay.run_once()
    await relay.close()
    assert outcome.sent == [] and "cannot connect" in outcome.failed[0][1]
    _, sent = await outbox_state(app, me)
    assert sent and not any(sent)
    assert REGISTRY.get_sample_value("astroshield_outbox_pending") == len(sent)
