"""The monitoring flow end to end: metric collection -> threshold checking -> alert
generation -> notification dispatch, against real HTTP and SMTP receivers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.alerts.models import DeadLetter
from astroshield.alerts.notifiers import SIGNATURE_HEADER, verify_signature
from astroshield.app import create_app
from astroshield.migrate import upgrade_async
from astroshield.observability.metrics import ALERTS_FIRING
from tests.conftest import Factory, settings_for
from tests.support.receivers import HttpReceiver, SmtpServer
from tests.support.servers import serving

SECRET = "alert-webhook-secret-for-tests"


@pytest.fixture
async def database(scratch_database_url: str) -> str:
    await upgrade_async(settings_for(scratch_database_url))
    return scratch_database_url


@asynccontextmanager
async def service(
    database: str, **settings: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings_for(database, **settings))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("driven error")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


async def _errors(client: httpx.AsyncClient, count: int) -> None:
    for _ in range(count):
        assert (await client.get("/boom")).status_code == 500


def _notifying(receiver: HttpReceiver, smtp: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {
        "alert_error_rate_per_minute": 5,
        "alert_webhook_urls": [receiver.url],
        "alert_webhook_secret": SECRET,
        "alert_webhook_base_delay_s": 0.01,
        "alert_email_to": ["flight-ops@example.org"],
        "alert_email_min_severity": "warning",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        # The memory and CPU of this machine must not join in.
        "alert_memory_percent": 100,
        "alert_cpu_percent": 100,
        **extra,
    }


async def test_error_rate_alert_lifecycle_across_a_restart(
    database: str, receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    t0 = datetime.now(UTC)
    config = _notifying(receiver, smtp)
    async with service(database, **config) as (app, client):
        evaluator = app.state.alert_evaluator
        assert await evaluator.run_once(now=t0) == []  # baseline sample
        await _errors(client, 20)
        assert await evaluator.run_once(now=t0 + timedelta(seconds=10)) == []  # pending
        await _errors(client, 20)
        assert await evaluator.run_once(now=t0 + timedelta(seconds=40)) == []  # still < for
        await _errors(client, 20)
        fired = await evaluator.run_once(now=t0 + timedelta(seconds=75))
        assert [n.change for n in fired] == ["fired"]
        assert ALERTS_FIRING.labels("warning")._value.get() == 1

    # Restarted service: the alert is still firing and is not announced again.
    async with service(database, **config) as (app, client):
        evaluator = app.state.alert_evaluator
        assert await evaluator.run_once(now=t0 + timedelta(seconds=76)) == []
        await _errors(client, 3)  # 6/min: above the threshold
        assert await evaluator.run_once(now=t0 + timedelta(seconds=106)) == []
        await _errors(client, 2)  # 4/min: inside the band (clear < 4): no flapping
        assert await evaluator.run_once(now=t0 + timedelta(seconds=136)) == []

        admin = await Factory(app).login(role="admin", platform_admin=True)
        listed = (
            await client.get("/api/v1/alerts", params={"status": "firing"}, headers=admin)
        ).json()
        (alert,) = listed["items"]
        assert alert["severity"] == "warning" and alert["labels"]["scope"] == "platform"
        ack = await client.post(
            f"/api/v1/alerts/{alert['id']}/acknowledge", json={"comment": "on it"}, headers=admin
        )
        assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"

        resolved = await evaluator.run_once(now=t0 + timedelta(seconds=166))  # 0 errors/min
        assert [n.change for n in resolved] == ["resolved"]
        detail = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=admin)).json()
        assert detail["status"] == "resolved"
        assert [e["change"] for e in reversed(detail["history"])] == [
            "pending",
            "fired",
            "acknowledged",
            "resolved",
        ]
        assert detail["history"][1]["actor"] is not None  # who acknowledged

    # Exactly one signed webhook and one e-mail per notifying change.
    bodies = list(receiver.requests)
    assert [r.headers["x-astroshield-event"] for r in bodies] == ["fired", "resolved"]
    for request in bodies:
        assert verify_signature(
            SECRET.encode(), request.headers[SIGNATURE_HEADER.lower()], request.body
        )
    assert [m["Subject"] for m in smtp.messages] == [
        "[WARNING] error-rate fired",
        "[WARNING] error-rate resolved",
    ]


async def test_failing_webhook_is_dead_lettered(
    database: str, receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    receiver.statuses = [500]
    t0 = datetime.now(UTC)
    async with service(database, **_notifying(receiver, smtp, alert_webhook_max_attempts=3)) as (
        app,
        client,
    ):
        evaluator = app.state.alert_evaluator
        await evaluator.run_once(now=t0)
        for offset in (10, 75):
            await _errors(client, 30)
            await evaluator.run_once(now=t0 + timedelta(seconds=offset))
        async with app.state.sessionmaker() as session:
            dead = (await session.execute(select(DeadLetter))).scalars().all()
    assert len(receiver.requests) == 3  # retried, then given up
    (letter,) = dead
    assert letter.reason == "HTTP 500" and letter.payload["change"] == "fired"
    assert len(smtp.messages) == 1  # the other channel was not held back


async def test_memory_alert_fires_when_threshold_below_usage(
    database: str, receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    t0 = datetime.now(UTC)
    async with service(database, **_notifying(receiver, smtp, alert_memory_percent=1)) as (
        app,
        _client,
    ):
        evaluator = app.state.alert_evaluator
        assert await evaluator.run_once(now=t0) == []  # pending: memory rule has for=60 s

        fired = await evaluator.run_once(now=t0 + timedelta(seconds=61))
        assert [(n.rule, n.change) for n in fired] == [("memory", "fired")]
        assert fired[0].value is not None and fired[0].value > 1


async def test_alerts_are_scoped_and_shelving_is_audited(
    database: str, receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    t0 = datetime.now(UTC)
    async with service(database, **_notifying(receiver, smtp, alert_memory_percent=1)) as (
        app,
        client,
    ):
        evaluator = app.state.alert_evaluator
        await evaluator.run_once(now=t0)
        await evaluator.run_once(now=t0 + timedelta(seconds=61))
        factory = Factory(app)
        operator = await factory.login(role="operator")
        # A platform alert is not an organisation's business: not even its existence.
        assert (await client.get("/api/v1/alerts", headers=operator)).json()["items"] == []
        admin = await factory.login(role="admin", platform_admin=True)
        (alert,) = (await client.get("/api/v1/alerts", headers=admin)).json()["items"]
        hidden = await client.get(f"/api/v1/alerts/{alert['id']}", headers=operator)
        assert hidden.status_code == 404
        missing = await client.get(f"/api/v1/alerts/{uuid.uuid4()}", headers=admin)
        assert missing.status_code == 404
        shelved = await client.post(
            f"/api/v1/alerts/{alert['id']}/shelve", json={"duration_s": 3600}, headers=admin
        )
        assert shelved.status_code == 200 and shelved.json()["shelved_until"] is not None
        audit = (
            await client.get("/api/v1/audit", params={"action": "alert.shelved"}, headers=admin)
        ).json()["items"]
        assert len(audit) == 1
        unshelved = await client.post(f"/api/v1/alerts/{alert['id']}/unshelve", headers=admin)
        assert unshelved.json()["shelved_until"] is None


async def test_changes_are_streamed_as_server_sent_events(
    database: str, receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    """Over a real HTTP server: the in-process test transport would buffer the stream."""
    t0 = datetime.now(UTC)
    app = create_app(settings_for(database, **_notifying(receiver, smtp, alert_memory_percent=1)))
    async with serving(app) as base_url:
        admin = await Factory(app).login(role="admin", platform_admin=True)
        events: list[dict[str, Any]] = []

        async def listen() -> None:
            async with (
                httpx.AsyncClient(base_url=base_url) as client,
                client.stream("GET", "/api/v1/alerts/stream", headers=admin) as reply,
            ):
                assert reply.headers["content-type"].startswith("text/event-stream")
                async for line in reply.aiter_lines():
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
                        if len(events) == 2:
                            return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)  # connected, positioned after the existing history
        evaluator = app.state.alert_evaluator
        await evaluator.run_once(now=t0)
        await evaluator.run_once(now=t0 + timedelta(seconds=61))
        await asyncio.wait_for(listener, timeout=10)
    assert [e["change"] for e in events] == ["pending", "fired"]
