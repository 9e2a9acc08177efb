"""Notifications reach a real HTTP receiver and a real SMTP server; failures are retried
and dead-lettered; routing and the notification rate bound hold."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx

from astroshield.alerts.engine import Severity
from astroshield.alerts.notifiers import (
    SIGNATURE_HEADER,
    Dispatcher,
    EmailNotifier,
    LogNotifier,
    Notification,
    Route,
    WebhookNotifier,
    sign,
    verify_signature,
)
from tests.support.receivers import HttpReceiver, SmtpServer

SECRET = b"webhook-shared-secret-for-tests"


def _notification(severity: str = "critical", **labels: str) -> Notification:
    return Notification(
        rule="error-rate",
        change="fired",
        status="firing",
        severity=severity,
        value=12.5,
        labels={"component": "api", **labels},
        occurred_at=datetime.now(UTC),
        description="errors above 10 per minute",
    )


async def test_webhook_delivers_a_signed_body(receiver: HttpReceiver) -> None:
    async with httpx.AsyncClient() as client:
        delivery = await WebhookNotifier(receiver.url, SECRET, client=client).send(_notification())
    assert delivery.ok and delivery.attempts == 1
    (request,) = receiver.requests
    assert verify_signature(SECRET, request.headers[SIGNATURE_HEADER.lower()], request.body)
    assert not verify_signature(b"other", request.headers[SIGNATURE_HEADER.lower()], request.body)
    assert not verify_signature(
        SECRET, request.headers[SIGNATURE_HEADER.lower()], request.body + b" "
    )
    body = json.loads(request.body)
    assert body["rule"] == "error-rate" and body["severity"] == "critical"
    assert request.headers["idempotency-key"] == body["id"]


def test_stale_signatures_are_refused() -> None:
    old = int(time.time()) - 3600
    assert not verify_signature(SECRET, sign(SECRET, b"{}", old), b"{}")
    assert not verify_signature(SECRET, "garbage", b"{}")


async def test_failing_webhook_is_retried_then_dead_lettered(receiver: HttpReceiver) -> None:
    receiver.statuses = [503]
    dead: list[tuple[str, str, str]] = []

    async def sink(notification: Notification, notifier: str, reason: str) -> None:
        dead.append((notification.id, notifier, reason))

    notification = _notification()
    async with httpx.AsyncClient() as client:
        delivery = await WebhookNotifier(
            receiver.url,
            SECRET,
            client=client,
            max_attempts=4,
            base_delay_s=0.01,
            dead_letter=sink,
        ).send(notification)
    assert not delivery.ok and delivery.attempts == 4
    assert len(receiver.requests) == 4
    # Every retry is the same notification: one idempotency key for the receiver.
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {notification.id}
    assert dead == [(notification.id, "webhook", "HTTP 503")]


async def test_recovering_webhook_succeeds_on_retry(receiver: HttpReceiver) -> None:
    receiver.statuses = [500, 502, 200]
    async with httpx.AsyncClient() as client:
        delivery = await WebhookNotifier(
            receiver.url, SECRET, client=client, base_delay_s=0.01
        ).send(_notification())
    assert delivery.ok and delivery.attempts == 3


async def test_client_errors_are_not_retried(receiver: HttpReceiver) -> None:
    receiver.statuses = [410]
    async with httpx.AsyncClient() as client:
        delivery = await WebhookNotifier(
            receiver.url, SECRET, client=client, base_delay_s=0.01
        ).send(_notification())
    assert not delivery.ok and delivery.attempts == 1 and len(receiver.requests) == 1


async def test_email_over_real_smtp(smtp: SmtpServer) -> None:
    notifier = EmailNotifier(
        host="127.0.0.1",
        port=smtp.port,
        sender="alerts@astroshield.example",
        recipients=["ops@example.org"],
    )
    delivery = await notifier.send(_notification())
    assert delivery.ok
    (message,) = smtp.messages
    assert message["Subject"] == "[CRITICAL] error-rate fired"
    assert message["To"] == "ops@example.org"
    assert "errors above 10 per minute" in message.get_payload()


async def test_unreachable_smtp_is_dead_lettered() -> None:
    dead: list[str] = []

    async def sink(notification: Notification, notifier: str, reason: str) -> None:
        dead.append(reason)

    notifier = EmailNotifier(
        host="127.0.0.1",
        port=1,
        sender="a@b.example",
        recipients=["c@d.example"],
        timeout_s=2,
        dead_letter=sink,
    )
    delivery = await notifier.send(_notification())
    assert not delivery.ok and len(dead) == 1


async def test_routing_by_severity_and_labels_with_a_rate_bound(
    receiver: HttpReceiver, smtp: SmtpServer
) -> None:
    async with httpx.AsyncClient() as client:
        pager = WebhookNotifier(receiver.url, SECRET, client=client)
        mail = EmailNotifier(
            host="127.0.0.1",
            port=smtp.port,
            sender="a@astroshield.example",
            recipients=["ops@example.org"],
        )
        dispatcher = Dispatcher(
            [
                Route(pager, min_severity=Severity.CRITICAL, rate="2/minute"),
                Route(mail, match={"team": "flight-dynamics"}),
                Route(LogNotifier()),
            ]
        )
        warning = await dispatcher.dispatch(_notification("warning", team="flight-dynamics"))
        assert set(warning) == {"email", "log"}
        outcomes = [await dispatcher.dispatch(_notification("critical")) for _ in range(3)]
    assert [o["webhook"] == "rate-limited" for o in outcomes] == [False, False, True]
    assert len(receiver.requests) == 2
    assert len(smtp.messages) == 1
