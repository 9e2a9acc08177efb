"""Delivery to a real receiver: an event made through the API arrives signed as a
CloudEvent, a 500 is retried and then succeeds, a failed delivery is replayed, and no
organisation ever receives another's events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from prometheus_client import REGISTRY

from astroshield.alerts.notifiers import SIGNATURE_HEADER, verify_signature
from astroshield.webhooks.dispatcher import Dispatcher
from tests.catalog.test_provenance import JSON, UPLOAD, omm, public_iss
from tests.conftest import Factory
from tests.conjunction.conftest import operator_with, upload
from tests.events.support import cdm_body
from tests.support.receivers import HttpReceiver
from tests.webhooks.conftest import (
    WEBHOOKS,
    Admin,
    Clock,
    admin_of,
    deliveries,
    make_dispatcher,
    subscribe,
)


def _succeeded() -> float:
    value = REGISTRY.get_sample_value(
        "astroshield_webhook_deliveries_total", {"outcome": "succeeded"}
    )
    return value or 0.0


async def _red_cdm(client: httpx.AsyncClient, factory: Factory) -> tuple[Admin, dict[str, Any]]:
    """An organisation whose analyst uploads a red CDM (a conjunction and an alert)."""
    me = await operator_with(factory, "44001")
    admin = Admin(me.organisation, await factory.login(me.organisation, role="admin"))
    return admin, {
        "upload": lambda: upload(client, cdm_body("RED", 20.0, 2, datetime.now(UTC)), me.headers)
    }


async def test_an_api_made_event_arrives_signed_as_a_cloudevent(
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    dispatcher: Dispatcher,
) -> None:
    admin, actions = await _red_cdm(client, factory)
    hook = await subscribe(client, admin, receiver.url, ["conjunction.created", "alert.changed"])
    before = _succeeded()
    response = await actions["upload"]()
    assert response.status_code == 201, response.text

    result = await dispatcher.run_once()
    assert result.count("succeeded") == len(receiver.requests) >= 2
    assert _succeeded() - before == len(receiver.requests)
    types = []
    for request in receiver.requests:
        assert request.method == "POST" and request.path == "/hook"
        assert request.headers["content-type"] == "application/cloudevents+json"
        secret = hook["secret"].encode()
        assert verify_signature(secret, request.headers[SIGNATURE_HEADER.lower()], request.body)
        assert not verify_signature(
            b"another secret", request.headers["x-astroshield-signature"], request.body
        )
        envelope = orjson.loads(request.body)
        assert envelope["specversion"] == "1.0"
        assert envelope["source"] == f"/astroshield/{admin.organisation.slug}"
        assert request.headers["ce-id"] == envelope["id"]
        types.append(envelope["type"])
    assert types[0] == "conjunction.created" and "alert.changed" in types
    conjunction = orjson.loads(receiver.requests[0].body)
    assert conjunction["data"]["event_id"] == response.json()["event"]["id"]

    recorded = await deliveries(client, admin, hook["id"])
    assert {d["status"] for d in recorded} == {"succeeded"}
    assert {d["response_code"] for d in recorded} == {200}
    assert {r.headers["webhook-id"] for r in receiver.requests} == {d["id"] for d in recorded}
    # Nothing is sent twice.
    again = await dispatcher.run_once()
    assert again.attempts == [] and again.created == 0


async def test_a_500_is_retried_with_backoff_then_succeeds(
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    dispatcher: Dispatcher,
    clock: Clock,
) -> None:
    receiver.statuses = [500, 200]
    admin, actions = await _red_cdm(client, factory)
    hook = await subscribe(client, admin, receiver.url, ["conjunction.created"])
    assert (await actions["upload"]()).status_code == 201

    first = await dispatcher.run_once()
    assert first.count("retried") == 1
    [pending] = await deliveries(client, admin, hook["id"], status="pending")
    assert (pending["attempts"], pending["response_code"], pending["last_error"]) == (
        1,
        500,
        "HTTP 500",
    )
    waiting = await dispatcher.run_once()  # not due yet: retry_base_s is 10 s
    assert waiting.attempts == [] and len(receiver.requests) == 1

    clock.advance(11)
    second = await dispatcher.run_once()
    assert second.count("succeeded") == 1
    [done] = await deliveries(client, admin, hook["id"])
    assert (done["status"], done["attempts"], done["response_code"]) == ("succeeded", 2, 200)
    assert receiver.requests[0].body == receiver.requests[1].body  # the same event again


async def test_a_failed_delivery_is_listed_and_replayed(
    app: FastAPI,
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    clock: Clock,
) -> None:
    receiver.statuses = [503, 200]
    admin, actions = await _red_cdm(client, factory)
    hook = await subscribe(client, admin, receiver.url, ["conjunction.created"])
    assert (await actions["upload"]()).status_code == 201
    dispatcher = make_dispatcher(app, clock, max_attempts=1)
    try:
        assert (await dispatcher.run_once()).count("failed") == 1
        assert await deliveries(client, admin, hook["id"], status="succeeded") == []
        [failed] = await deliveries(client, admin, hook["id"], status="failed")
        assert failed["last_error"].startswith("HTTP 503") and failed["next_attempt_at"] is None
        assert (await dispatcher.run_once()).attempts == []  # given up: not retried

        replay = f"{WEBHOOKS}/{hook['id']}/deliveries/{failed['id']}/replay"
        response = await client.post(replay, headers=admin.headers)
        assert response.status_code == 202, response.text
        assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
        twice = await client.post(replay, headers=admin.headers)
        assert twice.status_code == 409  # pending, not failed

        clock.advance(60)  # the replay is due from the service's now
        assert (await dispatcher.run_once()).count("succeeded") == 1
        [done] = await deliveries(client, admin, hook["id"])
        assert (done["id"], done["status"]) == (failed["id"], "succeeded")
        assert len(receiver.requests) == 2
    finally:
        await dispatcher.close()


async def test_a_client_error_is_not_retried(
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    dispatcher: Dispatcher,
    clock: Clock,
) -> None:
    receiver.statuses = [410]
    admin, actions = await _red_cdm(client, factory)
    hook = await subscribe(client, admin, receiver.url, ["conjunction.created"])
    assert (await actions["upload"]()).status_code == 201
    assert (await dispatcher.run_once()).count("failed") == 1
    clock.advance(3600)
    assert (await dispatcher.run_once()).attempts == []
    [failed] = await deliveries(client, admin, hook["id"], status="failed")
    assert failed["response_code"] == 410


async def test_an_organisation_never_receives_another_organisations_events(
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    dispatcher: Dispatcher,
) -> None:
    mine, theirs = HttpReceiver(), HttpReceiver()
    await mine.start()
    await theirs.start()
    try:
        admin, actions = await _red_cdm(client, factory)
        other = await admin_of(factory)
        every_type = ["conjunction.created", "conjunction.updated", "alert.changed"]
        await subscribe(client, admin, mine.url, every_type)
        their_hook = await subscribe(client, other, theirs.url, every_type)
        assert (await actions["upload"]()).status_code == 201
        await dispatcher.run_once()
        assert len(mine.requests) >= 2
        assert theirs.requests == []
        assert await deliveries(client, other, their_hook["id"]) == []
    finally:
        await mine.stop()
        await theirs.stop()


async def test_platform_events_reach_every_organisation_that_asks_for_them(
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    dispatcher: Dispatcher,
) -> None:
    asks, ignores = HttpReceiver(), HttpReceiver()
    await asks.start()
    await ignores.start()
    try:
        first, second = await admin_of(factory), await admin_of(factory)
        await subscribe(client, first, asks.url, ["catalog.refreshed"])
        await subscribe(client, second, ignores.url, ["alert.changed"])
        platform = await factory.login(role="admin", platform_admin=True)
        response = await client.post(
            UPLOAD + "?public=true", content=omm(public_iss()), headers=platform | JSON
        )
        assert response.status_code in (200, 201), response.text
        await dispatcher.run_once()
        [request] = asks.requests
        envelope = orjson.loads(request.body)
        assert (envelope["type"], envelope["source"]) == (
            "catalog.refreshed",
            "/astroshield/_platform",
        )
        assert ignores.requests == []
    finally:
        await asks.stop()
        await ignores.stop()


async def test_an_address_refused_at_delivery_fails_with_the_reason(
    app: FastAPI,
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    clock: Clock,
) -> None:
    """Resolved when delivered, not when written: a dispatcher that does not admit
    loopback refuses the endpoint it resolves to, without calling it."""
    admin, actions = await _red_cdm(client, factory)
    hook = await subscribe(client, admin, receiver.url, ["conjunction.created"])
    assert (await actions["upload"]()).status_code == 201
    strict = make_dispatcher(app, clock, allow_loopback=False)
    try:
        assert (await strict.run_once()).count("failed") == 1
    finally:
        await strict.close()
    [failed] = await deliveries(client, admin, hook["id"], status="failed")
    assert "address refused" in failed["last_error"] and "loopback" in failed["last_error"]
    assert receiver.requests == []


async def test_inactive_and_deleted_subscriptions_receive_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    dispatcher: Dispatcher,
) -> None:
    admin, actions = await _red_cdm(client, factory)
    paused = await subscribe(client, admin, receiver.url, ["conjunction.created"], active=False)
    deleted = await subscribe(client, admin, receiver.url, ["conjunction.created"])
    response = await client.delete(f"{WEBHOOKS}/{deleted['id']}", headers=admin.headers)
    assert response.status_code == 204
    assert (await actions["upload"]()).status_code == 201
    await dispatcher.run_once()
    assert receiver.requests == []
    # Reactivated, it receives what is committed from then on, not what it missed.
    response = await client.patch(
        f"{WEBHOOKS}/{paused['id']}", json={"active": True}, headers=admin.headers
    )
    assert response.status_code == 200
    await dispatcher.run_once()
    assert receiver.requests == []


async def test_concurrent_dispatchers_deliver_each_event_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    factory: Factory,
    loopback: None,
    receiver: HttpReceiver,
    clock: Clock,
) -> None:
    admin, actions = await _red_cdm(client, factory)
    both = await subscribe(client, admin, receiver.url, ["conjunction.created", "alert.changed"])
    alerts = await subscribe(client, admin, receiver.url, ["alert.changed"])
    assert (await actions["upload"]()).status_code == 201
    dispatchers = [make_dispatcher(app, clock, batch_size=1) for _ in range(3)]
    try:
        for _ in range(20):  # bounded; ends when a round finds nothing to send
            results = await asyncio.gather(*(d.run_once() for d in dispatchers))
            if not any(result.attempts for result in results):
                break
    finally:
        await asyncio.gather(*(d.close() for d in dispatchers))
    recorded = [
        *await deliveries(client, admin, both["id"]),
        *await deliveries(client, admin, alerts["id"]),
    ]
    assert len(recorded) >= 3 and {d["status"] for d in recorded} == {"succeeded"}
    assert {d["attempts"] for d in recorded} == {1}
    sent = sorted(r.headers["webhook-id"] for r in receiver.requests)
    assert sent == sorted(d["id"] for d in recorded)  # each delivery exactly once
