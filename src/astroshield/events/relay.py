"""The outbox relay: claims pending events in sequence order, publishes them, marks them
sent. At least once: a relay that dies between publishing and marking leaves its lease to
expire and another relay publishes again, with the same ``Nats-Msg-Id`` (JetStream keeps
one). Per subject the order is kept: a failed event holds back the later events of its
subject until its retry (exponential backoff) succeeds."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import orjson
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.config import Settings
from astroshield.db import session_scope, utcnow
from astroshield.events.publisher import JetStreamPublisher, NoBus, Publisher, PublishError
from astroshield.events.repository import OutboxRepository

log = structlog.get_logger(__name__)

OUTBOX_RELAY: Final = "outbox_relay"  # its component name in astroshield_component_up

OUTBOX_PENDING = Gauge(
    "astroshield_outbox_pending",
    "Domain events in the outbox not yet published (the relay's lag, in events).",
    multiprocess_mode="livemax",
)
OUTBOX_OLDEST_PENDING = Gauge(
    "astroshield_outbox_oldest_pending_seconds",
    "Age of the oldest unpublished domain event (0 when none is pending).",
    multiprocess_mode="livemax",
)
OUTBOX_PUBLISHED = Counter(
    "astroshield_outbox_published_total", "Domain events published by the outbox relay."
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "astroshield_outbox_publish_failures_total",
    "Publish attempts of domain events that failed (each is retried with backoff).",
)


@dataclass(frozen=True)
class Claimed:
    """A leased row, detached from its session."""

    sequence: int
    id: uuid.UUID
    subject: str
    attempts: int
    payload: bytes


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[Claimed, str]] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


def publisher_from(settings: Settings) -> Publisher:
    if settings.nats_url is None:
        return NoBus()
    return JetStreamPublisher(
        settings.nats_url, settings.nats_stream, timeout_s=settings.nats_publish_timeout_s
    )


class Relay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        *,
        batch_size: int = 100,
        lease_s: float = 30.0,
        retry_base_s: float = 1.0,
        retry_max_s: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker, self.publisher = sessionmaker, publisher
        self.batch_size, self.lease = batch_size, timedelta(seconds=lease_s)
        self.retry_base_s, self.retry_max_s = retry_base_s, retry_max_s
        self.clock = clock
        self.relay_id = f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"

    @classmethod
    def from_settings(
        cls, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> Relay:
        return cls(
            sessionmaker,
            publisher_from(settings),
            batch_size=settings.outbox_batch_size,
            lease_s=settings.outbox_lease_s,
            retry_base_s=settings.outbox_retry_base_s,
            retry_max_s=settings.outbox_retry_max_s,
        )

    async def claim(self) -> list[Claimed]:
        """Lease the next batch (committed before anything is published)."""
        now = self.clock()
        async with session_scope(self.sessionmaker) as session:
            rows = await OutboxRepository(session).claim(
                self.relay_id, now, now + self.lease, self.batch_size
            )
            return [
                Claimed(row.sequence, row.id, row.subject, row.attempts, orjson.dumps(row.envelope))
                for row in rows
            ]

    async def publish(self, batch: Sequence[Claimed]) -> Outcome:
        """Publish in sequence order; after a failure the rest of that subject waits (and
        after the bus itself failed, the rest of the batch)."""
        outcome = Outcome()
        blocked: set[str] = set()
        bus_down = False
        for item in batch:
            if bus_down or item.subject in blocked:
                outcome.held.append(item.sequence)
                continue
            try:
                await self.publisher.publish(item.subject, item.payload, str(item.id))
            except PublishError as exc:
                OUTBOX_PUBLISH_FAILURES.inc()
                outcome.failed.append((item, str(exc)))
                blocked.add(item.subject)
                bus_down = True  # the next events would only wait for the same timeout
                continue
            outcome.sent.append(item.sequence)
        return outcome

    def _retry_at(self, attempts: int, now: datetime) -> datetime:
        delay = min(self.retry_max_s, self.retry_base_s * 2.0**attempts)
        return now + timedelta(seconds=delay)

    async def settle(self, outcome: Outcome) -> None:
        now = self.clock()
        async with session_scope(self.sessionmaker) as session:
            repository = OutboxRepository(session)
            await repository.mark_sent(self.relay_id, outcome.sent, now, self.publisher.name)
            for item, error in outcome.failed:
                retry_at = self._retry_at(item.attempts, now)
                await repository.mark_failed(self.relay_id, item.sequence, error, retry_at)
            await repository.release(self.relay_id, outcome.held)
        OUTBOX_PUBLISHED.inc(len(outcome.sent))
        for item, error in outcome.failed:
            log.warning(
                "outbox_publish_failed",
                event_id=str(item.id),
                attempts=item.attempts + 1,
                error=error,
            )

    async def record_backlog(self) -> int:
        async with session_scope(self.sessionmaker) as session:
            backlog = await OutboxRepository(session).backlog()
        OUTBOX_PENDING.set(backlog.pending)
        age = (self.clock() - backlog.oldest).total_seconds() if backlog.oldest else 0.0
        OUTBOX_OLDEST_PENDING.set(max(0.0, age))
        return backlog.pending

    async def run_once(self) -> Outcome:
        """One pass: claim, publish, mark; then the lag gauges."""
        batch = await self.claim()
        outcome = await self.publish(batch) if batch else Outcome()
        if batch:
            await self.settle(outcome)
        await self.record_backlog()
        return outcome

    async def drain(self) -> int:
        """Passes until a pass publishes nothing; the number published."""
        total = 0
        while (outcome := await self.run_once()).sent:
            total += len(outcome.sent)
        return total

    async def run_forever(self, interval_s: float) -> None:
        """The relay loop of the service; it first creates or checks the stream (without
        holding up the start: an unreachable bus is retried by every pass)."""
        await self.start()
        while True:
            try:
                outcome = await self.run_once()
            except Exception:  # a failed pass must not end the relay
                log.exception("outbox_relay_failed")
                outcome = Outcome()
            # A full batch means more is waiting: go on at once.
            if len(outcome.sent) < self.batch_size:
                await asyncio.sleep(interval_s)

    async def start(self) -> bool:
        """Connect to the bus and create or check its stream, when there is one."""
        if isinstance(self.publisher, JetStreamPublisher):
            return await self.publisher.start()
        return True

    async def close(self) -> None:
        await self.publisher.close()
