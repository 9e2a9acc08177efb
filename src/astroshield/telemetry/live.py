"""Live telemetry fan-out to WebSocket clients, one bounded queue per client.

Ingest publishes after its commit; :meth:`LiveHub.publish` only ever ``put_nowait``s, so a
client that does not keep up can never slow ingest down or grow memory without bound: when
its queue is full it is dropped (the connection closes with 1013 "slow consumer") and may
reconnect and re-read what it missed from the archive.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

SLOW_CONSUMER_CODE = 1013  # RFC 6455 "Try Again Later"
SLOW_CONSUMER_REASON = "slow consumer"


@dataclass(eq=False)
class Subscription:
    spacecraft_id: uuid.UUID
    parameters: frozenset[str] | None  # None: every parameter
    queue: asyncio.Queue[dict[str, object]]
    dropped: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, message: dict[str, object]) -> bool:
        if self.parameters is None:
            return True
        parameter = message.get("parameter")
        return parameter is None or parameter in self.parameters


class LiveHub:
    def __init__(self, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self._subscriptions: dict[uuid.UUID, set[Subscription]] = {}
        self.dropped_total = 0

    def subscribe(
        self, spacecraft_id: uuid.UUID, parameters: frozenset[str] | None = None
    ) -> Subscription:
        subscription = Subscription(spacecraft_id, parameters, asyncio.Queue(self.queue_size))
        self._subscriptions.setdefault(spacecraft_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.spacecraft_id)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscriptions[subscription.spacecraft_id]

    def subscribers(self, spacecraft_id: uuid.UUID) -> int:
        return len(self._subscriptions.get(spacecraft_id, ()))

    def publish(self, spacecraft_id: uuid.UUID, message: dict[str, object]) -> None:
        """Hand ``message`` to every interested client of the spacecraft; never blocks,
        never raises."""
        try:
            for subscription in tuple(self._subscriptions.get(spacecraft_id, ())):
                if not subscription.wants(message):
                    continue
                try:
                    subscription.queue.put_nowait(message)
                except asyncio.QueueFull:
                    self.unsubscribe(subscription)
                    subscription.dropped.set()
                    self.dropped_total += 1
                    log.info("telemetry_live_slow_consumer", spacecraft_id=str(spacecraft_id))
        except Exception:  # publishing is best effort; ingest already succeeded
            log.exception("telemetry_live_publish_failed", spacecraft_id=str(spacecraft_id))
