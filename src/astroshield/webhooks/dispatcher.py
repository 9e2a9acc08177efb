"""The webhook dispatcher: creates deliveries from the outbox for each active
subscription, then claims due deliveries (lease), POSTs each signed envelope and records
the attempt. Every database step is a short transaction of its own; DNS and HTTP happen
between them, never while one is open (SQLite would hold its write lock meanwhile)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import httpx
import orjson
import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield import __version__
from astroshield.alerts.notifiers import SIGNATURE_HEADER, sign
from astroshield.config import Settings
from astroshield.db import session_scope, utcnow, uuid7
from astroshield.security.keys import KeyRing
from astroshield.security.pii import PiiDecryptionError
from astroshield.webhooks import addresses
from astroshield.webhooks.models import WebhookDelivery
from astroshield.webhooks.repository import ClaimedDelivery, DispatchRepository
from astroshield.webhooks.service import unseal_secret

log = structlog.get_logger(__name__)

WEBHOOK_DISPATCHER: Final = "webhook_dispatcher"  # its name in astroshield_component_up
CONTENT_TYPE: Final = "application/cloudevents+json"
# Answers that will not heal by retrying (the notifiers' rule): other 4xx give up at once.
RETRYABLE_CLIENT_ERRORS: Final = frozenset({408, 425, 429})

WEBHOOK_DELIVERIES = Counter(
    "astroshield_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (succeeded, retried, failed = given up).",
    ["outcome"],
)
WEBHOOK_PENDING = Gauge(
    "astroshield_webhook_deliveries_pending",
    "Webhook deliveries waiting to be sent or retried (the dispatcher's lag, in deliveries).",
    multiprocess_mode="livemax",
)
WEBHOOK_OLDEST_PENDING = Gauge(
    "astroshield_webhook_oldest_pending_seconds",
    "Age of the oldest pending webhook delivery (0 when none is pending).",
    multiprocess_mode="livemax",
)
WEBHOOK_LAG = Histogram(
    "astroshield_webhook_delivery_lag_seconds",
    "From an event's time to its successful webhook delivery.",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
)

Outcome = Literal["succeeded", "retried", "failed"]


@dataclass(frozen=True)
class Attempt:
    delivery: ClaimedDelivery
    outcome: Outcome
    response_code: int | None = None
    error: str | None = None


@dataclass
class PassResult:
    created: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    held: list[uuid.UUID] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for attempt in self.attempts if attempt.outcome == outcome)


def _event_age_s(envelope: dict[str, Any], now: datetime) -> float | None:
    try:
        moment = datetime.fromisoformat(str(envelope["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return max(0.0, (now - moment.astimezone(UTC)).total_seconds())


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        keys: KeyRing,
        *,
        batch_size: int = 50,
        lease_s: float = 60.0,
        timeout_s: float = 5.0,
        max_attempts: int = 8,
        retry_base_s: float = 2.0,
        retry_max_s: float = 3600.0,
        allow_loopback: bool = False,
        fanout_grace_s: float = 120.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker, self.keys = sessionmaker, keys
        self.batch_size, self.lease = batch_size, timedelta(seconds=lease_s)
        self.timeout_s, self.max_attempts = timeout_s, max_attempts
        self.retry_base_s, self.retry_max_s = retry_base_s, retry_max_s
        self.allow_loopback = allow_loopback
        self.fanout_grace = timedelta(seconds=fanout_grace_s)
        self.clock = clock
        self.dispatcher_id = f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"
        # Its own client: no redirects followed (a redirect could lead anywhere), no proxy
        # from the environment, no cookies kept between endpoints.
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    @classmethod
    def from_settings(
        cls, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, keys: KeyRing
    ) -> Dispatcher:
        return cls(
            sessionmaker,
            keys,
            batch_size=settings.webhook_batch_size,
            lease_s=settings.webhook_lease_s,
            timeout_s=settings.webhook_timeout_s,
            max_attempts=settings.webhook_max_attempts,
            retry_base_s=settings.webhook_retry_base_s,
            retry_max_s=settings.webhook_retry_max_s,
            allow_loopback=settings.webhook_allow_loopback,
            fanout_grace_s=settings.webhook_fanout_grace_s,
        )

    async def fan_out(self) -> int:
        """Deliveries for the outbox events each active subscription asked for; the number
        created. Subscriptions are locked meanwhile, so replicas never duplicate one."""
        now = self.clock()
        created = 0
        async with session_scope(self.sessionmaker) as session:
            repository = DispatchRepository(session)
            for subscription in await repository.lock_active_subscriptions():
                events = await repository.new_events(subscription, self.batch_size)
                repository.add_deliveries(
                    [
                        WebhookDelivery(
                            id=uuid7(),
                            subscription_id=subscription.id,
                            organisation_id=subscription.organisation_id,
                            event_sequence=sequence,
                            event_id=event_id,
                            event_type=event_type,
                            status="pending",
                            attempts=0,
                            created_at=now,
                            next_attempt_at=now,
                        )
                        for sequence, event_id, event_type in events
                    ]
                )
                created += len(events)
                head = await repository.settled_head(subscription.cursor, now - self.fanout_grace)
                if head is not None:
                    # A full batch may have left matching events after its last one.
                    full = len(events) == self.batch_size
                    await repository.move_cursor(
                        subscription.id, min(head, events[-1][0]) if full else head
                    )
        return created

    async def claim(self) -> list[ClaimedDelivery]:
        now = self.clock()
        async with session_scope(self.sessionmaker) as session:
            return await DispatchRepository(session).claim(
                self.dispatcher_id, now, now + self.lease, self.batch_size
            )

    def _retry_at(self, attempts: int, now: datetime) -> datetime:
        delay = min(self.retry_max_s, self.retry_base_s * 2.0 ** max(0, attempts - 1))
        return now + timedelta(seconds=delay)

    def _request(self, item: ClaimedDelivery, target: addresses.Target) -> httpx.Request:
        assert item.envelope is not None
        body = orjson.dumps(item.envelope)
        secret = unseal_secret(item.subscription_id, item.secret_ciphertext, self.keys)
        url = httpx.URL(target.url)
        headers = {
            "content-type": CONTENT_TYPE,
            "user-agent": f"AstroShield-Webhooks/{__version__}",
            SIGNATURE_HEADER: sign(secret.encode(), body, int(time.time())),
            "ce-id": str(item.event_id),
            "ce-type": item.event_type,
            "ce-specversion": str(item.envelope.get("specversion", "1.0")),
            "webhook-id": str(item.id),
            "X-AstroShield-Event": item.event_type,
            # The checked address is the one connected to; the name stays in Host and SNI.
            "host": url.netloc.decode("ascii"),
        }
        return self.client.build_request(
            "POST",
            url.copy_with(host=target.address),
            content=body,
            headers=headers,
            timeout=self.timeout_s,
            extensions={"sni_hostname": target.host} if target.https else {},
        )

    async def send(self, item: ClaimedDelivery) -> Attempt:
        """One attempt (no database work): resolve and check the address, POST."""
        if item.envelope is None:
            return Attempt(item, "failed", error="the event is no longer in the outbox")
        try:
            target = await addresses.resolve(item.url, allow_loopback=self.allow_loopback)
        except addresses.AddressRefusedError as exc:
            return Attempt(item, "failed", error=f"address refused: {exc}")
        try:
            request = self._request(item, target)
        except PiiDecryptionError:
            return Attempt(item, "failed", error="the secret cannot be decrypted: rotate it")
        try:
            response = await self.client.send(request)
            await response.aclose()
        except httpx.HTTPError as exc:
            return self._failed(item, None, f"{type(exc).__name__}: {exc}"[:500])
        if response.is_success:
            return Attempt(item, "succeeded", response.status_code)
        error = f"HTTP {response.status_code}"
        if response.is_client_error and response.status_code not in RETRYABLE_CLIENT_ERRORS:
            return Attempt(item, "failed", response.status_code, error)
        return self._failed(item, response.status_code, error)

    def _failed(self, item: ClaimedDelivery, code: int | None, error: str) -> Attempt:
        if item.attempts + 1 >= self.max_attempts:
            return Attempt(item, "failed", code, f"{error} (gave up after {item.attempts + 1})")
        return Attempt(item, "retried", code, error)

    async def deliver(self, batch: Sequence[ClaimedDelivery]) -> PassResult:
        """Endpoints in parallel; one endpoint's deliveries in event order, and after a
        failed one the rest of its batch waits for that one's retry."""
        by_subscription: dict[uuid.UUID, list[ClaimedDelivery]] = defaultdict(list)
        for item in batch:
            by_subscription[item.subscription_id].append(item)
        result = PassResult()

        async def one_endpoint(items: list[ClaimedDelivery]) -> None:
            for index, item in enumerate(items):
                attempt = await self.send(item)
                result.attempts.append(attempt)
                if attempt.outcome != "succeeded":
                    result.held.extend(later.id for later in items[index + 1 :])
                    return

        await asyncio.gather(*(one_endpoint(items) for items in by_subscription.values()))
        return result

    def _values(self, attempt: Attempt, now: datetime) -> dict[str, Any]:
        values: dict[str, Any] = {
            "last_attempt_at": now,
            "response_code": attempt.response_code,
            "last_error": None if attempt.error is None else attempt.error[:2000],
        }
        if attempt.outcome == "succeeded":
            values.update(status="succeeded", delivered_at=now, next_attempt_at=None)
        elif attempt.outcome == "failed":
            values.update(status="failed", next_attempt_at=None)
        else:
            values["next_attempt_at"] = self._retry_at(attempt.delivery.attempts + 1, now)
        return values

    async def settle(self, result: PassResult) -> None:
        now = self.clock()
        retry_at = now
        async with session_scope(self.sessionmaker) as session:
            repository = DispatchRepository(session)
            for attempt in result.attempts:
                values = self._values(attempt, now)
                if attempt.outcome == "retried":
                    retry_at = max(retry_at, values["next_attempt_at"])
                await repository.settle(self.dispatcher_id, attempt.delivery.id, values)
            await repository.release(self.dispatcher_id, result.held, retry_at)
        for attempt in result.attempts:
            WEBHOOK_DELIVERIES.labels(attempt.outcome).inc()
            envelope = attempt.delivery.envelope
            if attempt.outcome == "succeeded" and envelope is not None:
                if (age := _event_age_s(envelope, datetime.now(UTC))) is not None:
                    WEBHOOK_LAG.observe(age)
            elif attempt.outcome != "succeeded":
                log.warning(
                    "webhook_delivery_failed",
                    delivery_id=str(attempt.delivery.id),
                    webhook_id=str(attempt.delivery.subscription_id),
                    outcome=attempt.outcome,
                    error=attempt.error,
                )

    async def record_backlog(self) -> int:
        async with session_scope(self.sessionmaker) as session:
            backlog = await DispatchRepository(session).backlog()
        WEBHOOK_PENDING.set(backlog.pending)
        age = (self.clock() - backlog.oldest).total_seconds() if backlog.oldest else 0.0
        WEBHOOK_OLDEST_PENDING.set(max(0.0, age))
        return backlog.pending

    async def run_once(self) -> PassResult:
        """One pass: fan out, claim, send, record; then the lag gauges."""
        created = await self.fan_out()
        batch = await self.claim()
        result = await self.deliver(batch) if batch else PassResult()
        result.created = created
        if batch:
            await self.settle(result)
        await self.record_backlog()
        return result

    async def run_forever(self, interval_s: float) -> None:
        while True:
            try:
                result = await self.run_once()
            except Exception:  # a failed pass must not end the dispatcher
                log.exception("webhook_dispatch_failed")
                result = PassResult()
            # A full batch means more is waiting: go on at once.
            if len(result.attempts) + len(result.held) < self.batch_size:
                await asyncio.sleep(interval_s)

    async def close(self) -> None:
        await self.client.aclose()
