"""Notification dispatch: signed webhooks with retries, e-mail over SMTP, the log.

Webhook deliveries are signed like Stripe's and GitHub's: ``t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>">`` in ``X-AstroShield-Signature``, so a receiver can check
both origin and freshness. Failures are retried with exponential backoff and full jitter;
after the last attempt the notification goes to a dead-letter sink instead of vanishing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx
import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from astroshield.alerts.engine import Severity
from astroshield.config import Settings

log = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-AstroShield-Signature"


@dataclass(frozen=True)
class Notification:
    rule: str
    change: str
    status: str
    severity: str | None
    value: float | None
    labels: dict[str, str]
    occurred_at: datetime
    description: str = ""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> bytes:
        body = asdict(self)
        body["occurred_at"] = self.occurred_at.isoformat()
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @property
    def title(self) -> str:
        severity = (self.severity or "info").upper()
        return f"[{severity}] {self.rule} {self.change}"


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    detail: str = ""


class Notifier(Protocol):
    name: str

    async def send(self, notification: Notification) -> Delivery: ...


DeadLetterSink = Callable[[Notification, str, str], Awaitable[None]]


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = 300
) -> bool:
    """What a receiver runs: right key, untampered body, and not a stale replay."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        client: httpx.AsyncClient,
        max_attempts: int = 5,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        timeout_s: float = 5.0,
        dead_letter: DeadLetterSink | None = None,
        name: str = "webhook",
    ) -> None:
        self.url = url
        self.secret = secret
        self.client = client
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.timeout_s = timeout_s
        self.dead_letter = dead_letter
        self.name = name

    def _delay(self, attempt: int) -> float:
        # Full jitter (AWS architecture blog): spreads retries of many senders apart.
        ceiling: float = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    async def send(self, notification: Notification) -> Delivery:
        body = notification.to_json()
        reason = ""
        for attempt in range(1, self.max_attempts + 1):
            headers = {
                "content-type": "application/json",
                SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
                "X-AstroShield-Event": notification.change,
                "Idempotency-Key": notification.id,
            }
            try:
                response = await self.client.post(
                    self.url, content=body, headers=headers, timeout=self.timeout_s
                )
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}"
            else:
                if response.is_success:
                    return Delivery(True, attempt)
                reason = f"HTTP {response.status_code}"
                # A client error other than timeout/throttling will not heal by retrying.
                if response.is_client_error and response.status_code not in (408, 425, 429):
                    break
            if attempt < self.max_attempts:
                await asyncio.sleep(self._delay(attempt))
        log.warning("webhook_failed", rule=notification.rule, reason=reason, url=self.url)
        if self.dead_letter is not None:
            await self.dead_letter(notification, self.name, reason)
        return Delivery(False, attempt, reason)


@dataclass(frozen=True)
class SmtpRelay:
    """The SMTP server every e-mail of the service goes through (alerts, invitations)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    start_tls: bool = False
    timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpRelay | None:
        """The configured relay, or None when ``ASTROSHIELD_SMTP_HOST`` is unset."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
        )

    async def send(self, message: EmailMessage) -> None:
        """Raises ``aiosmtplib.SMTPException`` or ``OSError`` when the relay refuses or
        cannot be reached."""
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.start_tls,
            timeout=self.timeout_s,
        )


class EmailNotifier:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        start_tls: bool = False,
        timeout_s: float = 10.0,
        dead_letter: DeadLetterSink | None = None,
        name: str = "email",
    ) -> None:
        self.relay = SmtpRelay(host, port, username, password, start_tls, timeout_s)
        self.sender, self.recipients = sender, list(recipients)
        self.dead_letter = dead_letter
        self.name = name

    def message(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = notification.title
        message["X-AstroShield-Alert"] = notification.id
        labels = ", ".join(f"{k}={v}" for k, v in sorted(notification.labels.items()))
        message.set_content(
            f"{notification.title}\n\n"
            f"status:    {notification.status}\n"
            f"value:     {notification.value}\n"
            f"labels:    {labels}\n"
            f"at:        {notification.occurred_at.isoformat()}\n\n"
            f"{notification.description}\n"
        )
        return message

    async def send(self, notification: Notification) -> Delivery:
        try:
            await self.relay.send(self.message(notification))
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason = type(exc).__name__
            log.warning("email_failed", rule=notification.rule, reason=reason)
            if self.dead_letter is not None:
                await self.dead_letter(notification, self.name, reason)
            return Delivery(False, 1, reason)
        return Delivery(True, 1)


class LogNotifier:
    name = "log"

    async def send(self, notification: Notification) -> Delivery:
        log.warning(
            "alert",
            rule=notification.rule,
            change=notification.change,
            severity=notification.severity,
            value=notification.value,
            labels=notification.labels,
        )
        return Delivery(True, 1)


@dataclass(frozen=True)
class Route:
    """Which notifications a notifier gets: at least ``min_severity`` and all the
    ``match`` labels; at most ``rate`` of them (a storm becomes a trickle, not a flood)."""

    notifier: Notifier
    min_severity: Severity = Severity.INFO
    match: dict[str, str] = field(default_factory=dict)
    rate: str = "30/minute"

    def accepts(self, notification: Notification) -> bool:
        severity = Severity(notification.severity) if notification.severity else Severity.INFO
        return severity.rank >= self.min_severity.rank and all(
            notification.labels.get(key) == value for key, value in self.match.items()
        )


class Dispatcher:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._limits: list[RateLimitItem] = [parse(route.rate) for route in self.routes]

    async def dispatch(self, notification: Notification) -> dict[str, Any]:
        """Send to every matching route; returns what happened per notifier."""
        outcome: dict[str, Any] = {}
        sends = []
        for index, (route, limit) in enumerate(zip(self.routes, self._limits, strict=True)):
            if not route.accepts(notification):
                continue
            key = f"{index}:{route.notifier.name}"
            if not await self._limiter.hit(limit, "notify", key):
                outcome[route.notifier.name] = "rate-limited"
                log.warning("notification_suppressed", rule=notification.rule, route=key)
                continue
            sends.append((route.notifier.name, route.notifier.send(notification)))
        results = await asyncio.gather(*(send for _, send in sends))
        for (name, _), delivery in zip(sends, results, strict=True):
            outcome[name] = delivery
        return outcome
