"""Inbound over the bus against the real NATS JetStream: telemetry and CDMs published on
``astroshield.ingest.<slug>.…`` land through the HTTP endpoints' services, a redelivered
message lands once, a bad one is dead-lettered with its reason and nothing is stored, and
one organisation's credential cannot write into another's subjects.

Each test has its own organisation (a fresh slug), its own durable consumer and a filter
on that slug, so tests sharing the server at 127.0.0.1:4222 never see each other's
messages."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine

from astroshield.app import create_app
from astroshield.db import create_sessionmaker
from astroshield.inbound.consumer import InboundConsumer
from astroshield.inbound.landing import Message
from astroshield.inbound.messages import parse_subject
from astroshield.organisations.models import Organisation
from astroshield.tm.demo import DEMO_XTCE_PATH, demo_frames, demo_packets
from tests.conftest import Factory, settings_for
from tests.conjunction.conftest import operator_with
from tests.events.bus import connected, private_nats, require_shared_nats, stored_messages
from tests.events.support import cdm_body, of_type, outbox
from tests.support.replicas import eventually
from tests.telemetry.support import T0, make_archive, series, stored_counts

STREAM = "ASTROSHIELD"
PACKETS_START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
ROUNDS = 30  # fetches of at most 1 s each before a test gives up waiting for a message


def consumer_for(app: FastAPI, url: str, slug: str, **overrides: Any) -> InboundConsumer:
    """A consumer of this app on ``url``, with its own durable filtered to ``slug``."""
    settings = app.state.settings.model_copy(
        update={
            "nats_url": url,
            "inbound_enabled": True,
            "inbound_durable": f"inbound-test-{uuid.uuid4().hex[:12]}",
            "inbound_filter_subject": f"astroshield.ingest.{slug}.>",
            "inbound_retry_base_s": 0.05,
            "inbound_retry_max_s": 0.2,
            **overrides,
        }
    )
    return InboundConsumer(app.state, settings)


@asynccontextmanager
async def bound(
    app: FastAPI, url: str, slug: str, **overrides: Any
) -> AsyncIterator[InboundConsumer]:
    consumer = consumer_for(app, url, slug, **overrides)
    await consumer.connect()  # the stream and the durable exist before anything is sent
    try:
        yield consumer
    finally:
        await consumer.close()
        async with connected(url) as client:  # not left behind on the shared server
            await client.jetstream().delete_consumer(STREAM, consumer.durable)


async def settle(consumer: InboundConsumer, count: int) -> list[str]:
    """What became of the next ``count`` deliveries."""
    verdicts: list[str] = []
    for _ in range(ROUNDS):
        verdicts += await consumer.run_once(timeout_s=1.0)
        if len(verdicts) >= count:
            return verdicts
    raise AssertionError(f"only {verdicts} of {count} deliveries within {ROUNDS} fetches")


async def publish(url: str, subject: str, body: bytes, headers: dict[str, str]) -> bool:
    """Published (JetStream-acknowledged); False when JetStream dropped it as a duplicate
    of a message with the same Nats-Msg-Id."""
    async with connected(url) as client:
        ack = await client.jetstream().publish(subject, body, headers=headers)
        assert ack.stream == STREAM
        return not ack.duplicate


def bearer(headers: dict[str, str]) -> dict[str, str]:
    return {"Authorization": headers["Authorization"]}


def telemetry_subject(organisation: Organisation, spacecraft_id: str) -> str:
    return f"astroshield.ingest.{organisation.slug}.telemetry.{spacecraft_id}"


async def dead_letters(url: str, organisation: Organisation) -> list[Any]:
    return await stored_messages(url, STREAM, f"astroshield.deadletter.{organisation.slug}.>")


def problem_of(message: Any) -> dict[str, Any]:
    problem: dict[str, Any] = json.loads(message.headers["AstroShield-Problem"])
    return problem


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_telemetry_batch_lands_and_is_readable_through_the_api(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    archive = await make_archive(client, factory)
    body = {"source_id": "gs-bus", "sequence": 1, "samples": series("bus_voltage", T0, 20)}
    landed_before = counter("astroshield_inbound_landed_total", kind="telemetry", result="stored")

    async with bound(app, url, archive.organisation.slug) as consumer:
        await publish(
            url,
            telemetry_subject(archive.organisation, archive.spacecraft_id),
            json.dumps(body).encode(),
            {**bearer(archive.headers), "Content-Type": "application/json"},
        )
        assert await settle(consumer, 1) == ["landed"]

    response = await archive.get("/bus_voltage", limit=100)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 20
    assert await stored_counts(app) == (20, 1)
    after = counter("astroshield_inbound_landed_total", kind="telemetry", result="stored")
    assert after == landed_before + 1
    assert await dead_letters(url, archive.organisation) == []


async def test_a_redelivered_or_republished_batch_lands_once(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    archive = await make_archive(client, factory)
    subject = telemetry_subject(archive.organisation, archive.spacecraft_id)
    # No source_id/sequence: the message's Nats-Msg-Id is the batch key.
    body = json.dumps({"samples": series("panel_temp", T0, 10)}).encode()
    headers = {**bearer(archive.headers), "Nats-Msg-Id": f"batch-{uuid.uuid4()}"}

    async with bound(app, url, archive.organisation.slug, inbound_ack_wait_s=1.0) as consumer:
        await publish(url, subject, body, headers)
        # The first delivery is stored and committed, and the process "dies" before acking.
        subscription = await consumer.connect()
        [first] = await subscription.fetch(1, timeout=5)
        assert first.metadata.num_delivered == 1
        landed = await consumer.landing.land(
            parse_subject(first.subject),
            Message(
                first.subject, dict(first.headers or {}), first.data, first.metadata.sequence.stream
            ),
        )
        assert landed.created
        assert await stored_counts(app) == (10, 1)

        # Unacknowledged past ack_wait: JetStream delivers it again; it lands once.
        assert await settle(consumer, 1) == ["replayed"]
        # Published again with the same Nats-Msg-Id: JetStream keeps one copy (within its
        # window). Under a new id with the first id as Idempotency-Key: found by its batch
        # key, stored once.
        assert await publish(url, subject, body, headers) is False
        again = {
            **headers,
            "Nats-Msg-Id": str(uuid.uuid4()),
            "Idempotency-Key": headers["Nats-Msg-Id"],
        }
        assert await publish(url, subject, body, again) is True
        assert await settle(consumer, 1) == ["replayed"]
        assert await consumer.run_once(timeout_s=1.0) == []

    assert await stored_counts(app) == (10, 1)
    assert await dead_letters(url, archive.organisation) == []


async def test_ccsds_packets_land_like_the_packets_endpoint(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    archive = await make_archive(client, factory)
    response = await client.put(
        archive.base + "/dictionary",
        content=DEMO_XTCE_PATH.read_bytes(),
        headers={**archive.headers, "content-type": "application/xml"},
    )
    assert response.status_code == 200, response.text
    packets = demo_packets(PACKETS_START, 10, seed=5)
    expected = sum(len(frame.values) for frame in demo_frames(PACKETS_START, 10, seed=5))
    headers = {
        **bearer(archive.headers),
        "Content-Type": "application/octet-stream",
        "X-Source-Id": "gs-svalbard",
        "X-Sequence": "1",
    }
    subject = telemetry_subject(archive.organisation, archive.spacecraft_id)
    async with bound(app, url, archive.organisation.slug) as consumer:
        await publish(url, subject, packets, headers)
        await publish(url, subject, packets, headers)  # same X-Source-Id and X-Sequence
        assert await settle(consumer, 2) == ["landed", "replayed"]
    assert await stored_counts(app) == (expected, 1)


async def test_a_cdm_over_the_bus_opens_an_event_with_its_domain_event(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    me = await operator_with(factory, "44001")
    subject = f"astroshield.ingest.{me.organisation.slug}.cdm"
    body = cdm_body("BUS-CDM-1", 10.0, 1, datetime.now(UTC))

    async with bound(app, url, me.organisation.slug) as consumer:
        headers = {**bearer(me.headers), "Content-Type": "text/plain"}
        await publish(url, subject, body, headers)
        await publish(url, subject, body, headers)  # re-sent MESSAGE_ID: changes nothing
        assert await settle(consumer, 2) == ["landed", "replayed"]

    listed = await client.get("/api/v1/conjunctions", headers=me.headers)
    assert listed.status_code == 200, listed.text
    [event] = listed.json()["items"]
    assert event["secondary_catalog_number"] == "44002"
    created = of_type(await outbox(app, me.organisation.id), "conjunction.created")
    assert [e["data"]["event_id"] for e in created] == [event["id"]]
    assert created[0]["data"]["message_id"] == "BUS-CDM-1"


async def test_bad_messages_are_dead_lettered_with_their_reason_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    archive = await make_archive(client, factory)
    org = archive.organisation
    good = {**bearer(archive.headers), "Nats-Msg-Id": "x"}
    sent = [
        # invalid JSON
        (telemetry_subject(org, archive.spacecraft_id), b'{"samples": [', good),
        # a spacecraft that is not there
        (telemetry_subject(org, str(uuid.uuid4())), b'{"samples": []}', good),
        # a sample that does not validate (unknown parameter)
        (
            telemetry_subject(org, archive.spacecraft_id),
            json.dumps(
                {"samples": [{"parameter": "nope", "time": "2026-11-01T00:00:00Z", "value": 1}]}
            ).encode(),
            good,
        ),
        # no credential, then a credential that is not a token
        (telemetry_subject(org, archive.spacecraft_id), b'{"samples": []}', {}),
        (
            telemetry_subject(org, archive.spacecraft_id),
            b'{"samples": []}',
            {"Authorization": "Bearer not-a-token"},
        ),
        # a subject that names no kind
        (f"astroshield.ingest.{org.slug}.orbits", b"{}", good),
    ]
    async with bound(app, url, org.slug) as consumer:
        for subject, body, headers in sent:
            await publish(url, subject, body, {**headers, "Nats-Msg-Id": str(uuid.uuid4())})
        assert await settle(consumer, len(sent)) == ["dead-lettered"] * len(sent)
        assert await consumer.run_once(timeout_s=1.0) == []  # terminated, not redelivered

    letters = await dead_letters(url, org)
    assert [m.headers["AstroShield-Reason"] for m in letters] == [
        "validation-error",
        "not-found",
        "validation-error",
        "unauthenticated",
        "unauthenticated",
        "validation-error",
    ]
    assert [m.data for m in letters] == [body for _, body, _ in sent]  # the original bodies
    assert [m.headers["AstroShield-Original-Subject"] for m in letters] == [s for s, _, _ in sent]
    assert all("Authorization" not in m.headers for m in letters)  # never the credential
    assert letters[0].subject == f"astroshield.deadletter.{org.slug}.telemetry"
    assert letters[-1].subject == f"astroshield.deadletter.{org.slug}._unknown"
    invalid_sample = problem_of(letters[2])
    assert invalid_sample["status"] == 422 and invalid_sample["errors"][0]["loc"][:2] == [
        "body",
        "samples",
    ]
    assert problem_of(letters[5])["errors"][0]["loc"] == ["subject", "kind"]
    assert await stored_counts(app) == (0, 0)


async def test_a_credential_of_another_organisation_is_dead_lettered_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    victim = await make_archive(client, factory)  # organisation B and its spacecraft
    intruder = await make_archive(client, factory)  # organisation A, a valid operator
    subject = telemetry_subject(victim.organisation, victim.spacecraft_id)
    body = json.dumps({"source_id": "x", "sequence": 1, "samples": series("bus_voltage", T0, 3)})
    viewer = await factory.login(victim.organisation, role="viewer")

    async with bound(app, url, victim.organisation.slug) as consumer:
        # A's operator on B's subject; B's own viewer (no telemetry:write).
        await publish(url, subject, body.encode(), bearer(intruder.headers))
        await publish(url, subject, body.encode(), bearer(viewer))
        assert await settle(consumer, 2) == ["dead-lettered", "dead-lettered"]

    letters = await dead_letters(url, victim.organisation)
    assert [m.headers["AstroShield-Reason"] for m in letters] == ["forbidden", "forbidden"]
    assert problem_of(letters[0])["errors"][0]["loc"] == ["subject", "organisation-slug"]
    assert "telemetry:write" in problem_of(letters[1])["detail"]
    assert await stored_counts(app) == (0, 0)
    response = await victim.get("/bus_voltage")
    assert response.status_code == 200 and response.json()["items"] == []


async def test_a_cdm_in_an_unsupported_format_is_dead_lettered(
    app: FastAPI, factory: Factory
) -> None:
    url = require_shared_nats()
    me = await operator_with(factory, "44001")
    subject = f"astroshield.ingest.{me.organisation.slug}.cdm"
    body = cdm_body("BUS-CDM-2", 10.0, 1, datetime.now(UTC))
    async with bound(app, url, me.organisation.slug) as consumer:
        await publish(url, subject, body, {**bearer(me.headers), "Content-Type": "image/png"})
        assert await settle(consumer, 1) == ["dead-lettered"]
    [letter] = await stored_messages(
        url, STREAM, f"astroshield.deadletter.{me.organisation.slug}.cdm"
    )
    assert letter.headers["AstroShield-Reason"] == "unsupported-media-type"
    assert of_type(await outbox(app, me.organisation.id), "conjunction.created") == []


@asynccontextmanager
async def database_down(app: FastAPI, tmp_path: Path) -> AsyncIterator[None]:
    """The app's sessions go to a database that cannot be opened (a file in a directory
    that does not exist) until the block ends."""
    working = app.state.sessionmaker
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        yield
    finally:
        app.state.sessionmaker = working
        await engine.dispose()


async def test_a_transient_failure_is_retried_and_dead_lettered_at_the_last_delivery(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, tmp_path: Path
) -> None:
    url = require_shared_nats()
    archive = await make_archive(client, factory)
    subject = telemetry_subject(archive.organisation, archive.spacecraft_id)

    def batch(sequence: int) -> bytes:
        return json.dumps(
            {"source_id": "gs", "sequence": sequence, "samples": series("reboots", T0, 1)}
        ).encode()

    async with bound(app, url, archive.organisation.slug, inbound_max_deliver=2) as consumer:
        await publish(url, subject, batch(1), bearer(archive.headers))
        async with database_down(app, tmp_path):
            assert await settle(consumer, 1) == ["retried"]  # nak'ed with a delay
        assert await settle(consumer, 1) == ["landed"]  # the database is back

        await publish(url, subject, batch(2), bearer(archive.headers))
        async with database_down(app, tmp_path):
            assert await settle(consumer, 2) == ["retried", "dead-lettered"]

    [letter] = await dead_letters(url, archive.organisation)
    assert letter.headers["AstroShield-Reason"] == "service-unavailable"
    assert letter.data == batch(2)
    assert await stored_counts(app) == (1, 1)


async def test_the_service_consumes_by_itself_when_a_bus_is_configured(
    app: FastAPI, database_url: str, tmp_path: Path
) -> None:
    async with private_nats(tmp_path / "store") as server:
        service = create_app(settings_for(database_url, nats_url=server.url, inbound_enabled=True))
        async with service.router.lifespan_context(service):
            transport = httpx.ASGITransport(app=service, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                archive = await make_archive(client, Factory(service))

            async def bound_up() -> bool:
                up = REGISTRY.get_sample_value(
                    "astroshield_component_up", {"component": "inbound_consumer"}
                )
                return up == 1

            assert await eventually(bound_up, within_s=30)
            body = {"source_id": "gs", "sequence": 1, "samples": series("bus_voltage", T0, 5)}
            await publish(
                server.url,
                telemetry_subject(archive.organisation, archive.spacecraft_id),
                json.dumps(body).encode(),
                bearer(archive.headers),
            )

            async def landed() -> bool:
                return await stored_counts(service) == (5, 1)

            assert await eventually(landed, within_s=30)
        # Stopped with the lifespan: no series for a consumer that is not running.
        assert (
            REGISTRY.get_sample_value("astroshield_component_up", {"component": "inbound_consumer"})
            is None
        )
        async with connected(server.url) as nats_client:
            info = await nats_client.jetstream().consumer_info(STREAM, "astroshield-inbound")
            assert info.num_ack_pending == 0 and info.num_pending == 0


DOC = Path(__file__).parents[2] / "docs" / "inbound.md"


def documented_example() -> dict[str, Any]:
    """The Python example of docs/inbound.md, executed: its functions by name."""
    text = DOC.read_text(encoding="utf-8")
    code = text[text.index("```python\n") + len("```python\n") :]
    namespace: dict[str, Any] = {}
    exec(compile(code[: code.index("```")], str(DOC), "exec"), namespace)  # noqa: S102
    return namespace


async def test_the_documented_example_sends_a_batch_and_reads_dead_letters(
    app: FastAPI,
    client: httpx.AsyncClient,
    factory: Factory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = require_shared_nats()
    example = documented_example()
    archive = await make_archive(client, factory)
    slug, token = archive.organisation.slug, archive.headers["Authorization"].split()[1]
    # The example's Nats-Msg-Id is source and sequence: a source of this run only, or
    # JetStream would drop the batches as duplicates of an earlier run's (2-minute window).
    source = f"gs-{uuid.uuid4().hex[:8]}"
    good = {"source_id": source, "sequence": 1, "samples": series("bus_voltage", T0, 3)}
    bad = {"source_id": source, "sequence": 2, "samples": series("BATT_V", T0, 1)}
    async with bound(app, url, slug) as consumer:
        await example["send_batch"](url, token, slug, archive.spacecraft_id, good)
        await example["send_batch"](url, token, slug, archive.spacecraft_id, bad)
        assert await settle(consumer, 2) == ["landed", "dead-lettered"]
    assert await stored_counts(app) == (3, 1)

    await example["watch_dead_letters"](url, slug)
    printed = capsys.readouterr().out
    assert "stored as message" in printed
    assert "validation-error" in printed and "BATT_V" in printed
    async with connected(url) as nats_client:  # the example's durable, not left behind
        await nats_client.jetstream().delete_consumer(STREAM, f"{slug}-dead-letters")
