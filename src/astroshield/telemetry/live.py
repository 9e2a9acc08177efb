"""Live telemetry fan-out to WebSocket clients, one bounded queue per client.

Ingest publishes after its commit; :meth:`LiveHub.publish` only ever ``put_nowait``s, so a
client that does not keep up can never slow ingest down or grow memory without bound: when
its queue is full it is dropped (the connection closes with 1013 "slow consumer") and may
reconnect and re-read what it missed from the archive.

Across replicas (with ``ASTROSHIELD_REDIS_URL``): a client connected to one replica also
gets what another replica ingests. The hubs share one Redis pub/sub channel
(``<rate_limit_namespace>-telemetry-live``) and each runs one subscription that fans what
the others publish out to its own clients. Two kinds of messages travel on it:

- *interest*: the spacecraft this replica has clients for, announced when that set
  changes, every ``INTEREST_REFRESH_S`` and on request of a replica that (re)subscribed;
  kept for ``INTEREST_TTL_S`` (a replica that died stops counting). Ingest builds the
  samples messages only when some replica listens (:meth:`LiveHub.listening`), and only
  they go to Redis;
- *messages*: what ingest published here, batched, tagged with this process's origin id.
  The publishing replica delivers to its own clients at once and ignores its own messages
  when Redis echoes them, so nobody gets a message twice.

Publishing to Redis is fire-and-forget: :meth:`LiveHub.publish` queues (bounded) for a
background sender that waits at most ``publish_timeout_s`` per send. Redis down, the
replica's own clients are served as before; what is published meanwhile does not reach
the other replicas (dropped, logged and counted in
``astroshield_telemetry_live_relayed_total{outcome="dropped"}``), nor does a batch stored
elsewhere within the moment it takes a new subscription to be announced. Pub/sub is at
most once: a client that must not miss a sample re-reads the gap from the archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog

from astroshield.observability.domain_metrics import TELEMETRY_LIVE_RELAYED
from astroshield.pubsub import RedisChannel

log = structlog.get_logger(__name__)
INTEREST_REFRESH_S = 10.0
INTEREST_TTL_S = 3 * INTEREST_REFRESH_S
OUTBOX_SIZE = 10_000  # messages waiting for Redis; beyond, they are dropped
BATCH_MAX = 500  # messages per Redis publish
_MESSAGES, _INTEREST = "messages", "interest"
# Outbox items besides (spacecraft, message): announce this replica's interest, and ask
# the others to announce theirs.
_ANNOUNCE, _ASK = "announce", "ask"
_Item = tuple[uuid.UUID, dict[str, object]] | str

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
    def __init__(
        self,
        queue_size: int,
        *,
        redis_url: str | None = None,
        channel: str = "astroshield-telemetry-live",
        publish_timeout_s: float = 1.0,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self._subscriptions: dict[uuid.UUID, set[Subscription]] = {}
        self.dropped_total = 0
        # Tags what this process publishes, to recognise its own echo.
        self.origin = uuid.uuid4().hex
        self.publish_timeout_s = publish_timeout_s
        # The replicas' channel: None without Redis (this hub is then local only).
        self._channel = (
            RedisChannel(
                redis_url,
                channel,
                name="telemetry_live",
                on_message=self._received,
                on_subscribed=self._subscribed,
            )
            if redis_url
            else None
        )
        self._outbox: asyncio.Queue[_Item] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._remote_interest: dict[str, tuple[frozenset[uuid.UUID], float]] = {}
        # Live messages through Redis, as the metric counts them (for this hub alone).
        self.relayed = {"published": 0, "received": 0, "dropped": 0}
        self._failing = False

    # -- lifecycle (the app's lifespan) ------------------------------------------------------

    async def start(self) -> None:
        """Join the replicas' channel (nothing to do without Redis)."""
        if self._channel is None:
            return
        self._outbox = asyncio.Queue(OUTBOX_SIZE)
        self._sender = asyncio.create_task(self._send_forever())
        await self._channel.start()

    async def stop(self) -> None:
        if self._channel is None:
            return
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
        if self._channel.started:
            # The others stop sending here at once rather than after INTEREST_TTL_S.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.publish_timeout_s):
                    await self._channel.publish(self._interest_document(frozenset(), ask=False))
        await self._channel.stop()
        self._outbox = None

    # -- local clients ---------------------------------------------------------------------

    def subscribe(
        self, spacecraft_id: uuid.UUID, parameters: frozenset[str] | None = None
    ) -> Subscription:
        subscription = Subscription(spacecraft_id, parameters, asyncio.Queue(self.queue_size))
        first = spacecraft_id not in self._subscriptions
        self._subscriptions.setdefault(spacecraft_id, set()).add(subscription)
        if first:
            self._announce_interest()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.spacecraft_id)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscriptions[subscription.spacecraft_id]
            self._announce_interest()

    def subscribers(self, spacecraft_id: uuid.UUID) -> int:
        """Clients of the spacecraft connected to this replica."""
        return len(self._subscriptions.get(spacecraft_id, ()))

    def listening(self, spacecraft_id: uuid.UUID) -> bool:
        """Whether a client of the spacecraft is connected here or, as far as this replica
        has heard, to another replica: ingest builds samples messages only then."""
        return spacecraft_id in self._subscriptions or self.listened_elsewhere(spacecraft_id)

    def publish(self, spacecraft_id: uuid.UUID, message: dict[str, object]) -> None:
        """Hand ``message`` to every interested client of the spacecraft, here at once and
        on the other replicas through Redis; never blocks, never raises."""
        self._deliver(spacecraft_id, message)
        if self._outbox is None:
            return
        try:
            if self.listened_elsewhere(spacecraft_id):
                self._outbox.put_nowait((spacecraft_id, message))
        except asyncio.QueueFull:
            self._count("dropped")
        except Exception:  # publishing is best effort; ingest already succeeded
            log.exception("telemetry_live_relay_failed", spacecraft_id=str(spacecraft_id))

    def _deliver(self, spacecraft_id: uuid.UUID, message: dict[str, object]) -> None:
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

    # -- the other replicas ----------------------------------------------------------------

    def listened_elsewhere(self, spacecraft_id: uuid.UUID) -> bool:
        """Whether another replica announced a client of the spacecraft (and has not
        withdrawn it, nor gone quiet for INTEREST_TTL_S)."""
        if not self._remote_interest:
            return False
        now = time.monotonic()
        return any(
            spacecraft_id in wanted and expires > now
            for wanted, expires in self._remote_interest.values()
        )

    def _count(self, outcome: str, amount: int = 1) -> None:
        self.relayed[outcome] += amount
        TELEMETRY_LIVE_RELAYED.labels(outcome).inc(amount)

    def _announce_interest(self, *, ask: bool = False) -> None:
        if self._outbox is None:
            return
        with contextlib.suppress(asyncio.QueueFull):  # the periodic refresh catches up
            self._outbox.put_nowait(_ASK if ask else _ANNOUNCE)

    def _interest_document(self, wanted: frozenset[uuid.UUID], *, ask: bool) -> bytes:
        return orjson.dumps(
            {
                "kind": _INTEREST,
                "origin": self.origin,
                "spacecraft": sorted(str(s) for s in wanted),
                "ask": ask,
            }
        )

    def _subscribed(self) -> None:
        """(Re)subscribed: what the others want may have changed unheard; ask them."""
        self._announce_interest(ask=True)

    def _received(self, raw: bytes) -> None:
        try:
            document: Any = orjson.loads(raw)
            if document.get("origin") == self.origin:
                return  # delivered here when it was published
            if document["kind"] == _INTEREST:
                wanted = frozenset(uuid.UUID(s) for s in document["spacecraft"])
                if wanted:
                    expires = time.monotonic() + INTEREST_TTL_S
                    self._remote_interest[document["origin"]] = (wanted, expires)
                else:
                    self._remote_interest.pop(document["origin"], None)
                if document.get("ask"):
                    self._announce_interest()
            elif document["kind"] == _MESSAGES:
                spacecraft_id = uuid.UUID(document["spacecraft"])
                messages = document["messages"]
                for message in messages:
                    self._deliver(spacecraft_id, message)
                self._count("received", len(messages))
        except Exception:
            log.warning("telemetry_live_relay_malformed")

    async def _send_forever(self) -> None:
        """Drain the outbox to Redis, batched per spacecraft, and refresh this replica's
        interest every INTEREST_REFRESH_S."""
        assert self._outbox is not None
        refresh_at = 0.0
        while True:
            items: list[_Item] = []
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, refresh_at - time.monotonic())):
                    items.append(await self._outbox.get())
            while items and len(items) < BATCH_MAX and not self._outbox.empty():
                items.append(self._outbox.get_nowait())
            due = time.monotonic() >= refresh_at
            documents, announced = self._documents(items, due)
            if announced:
                refresh_at = time.monotonic() + INTEREST_REFRESH_S
            for data, count in documents:
                await self._send(data, count)

    def _documents(
        self, items: list[_Item], announce: bool
    ) -> tuple[list[tuple[bytes, int]], bool]:
        """What to publish for ``items``, each with its count of live messages, and
        whether this replica's interest is among them."""
        ask = False
        batches: dict[uuid.UUID, list[dict[str, object]]] = {}
        for item in items:
            if isinstance(item, tuple):
                batches.setdefault(item[0], []).append(item[1])
            else:
                announce = True
                ask = ask or item == _ASK
        documents: list[tuple[bytes, int]] = []
        if announce:
            wanted = frozenset(self._subscriptions)
            documents.append((self._interest_document(wanted, ask=ask), 0))
        for spacecraft_id, messages in batches.items():
            document = {
                "kind": _MESSAGES,
                "origin": self.origin,
                "spacecraft": str(spacecraft_id),
                "messages": messages,
            }
            documents.append((orjson.dumps(document), len(messages)))
        return documents, announce

    async def _send(self, data: bytes, count: int) -> None:
        """Publish within ``publish_timeout_s``; a failure drops the ``count`` messages."""
        assert self._channel is not None
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                await self._channel.publish(data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._failing:
                log.warning("telemetry_live_not_relayed", error=type(exc).__name__)
            self._failing = True
            if count:
                self._count("dropped", count)
        else:
            if self._failing:
                log.info("telemetry_live_relaying_again")
            self._failing = False
            if count:
                self._count("published", count)
