"""One Redis pub/sub channel the replicas share: publish, and a background subscription.

Used by what every replica must hear from the others at once: auth invalidations
(security/invalidation.py) and the live telemetry feed (telemetry/live.py). Pub/sub
delivers at most once and only to replicas subscribed at that moment; each user says what
a missed message costs it.

The subscription re-subscribes by itself after a lost connection, every
``RESUBSCRIBE_DELAY_S``. ``on_subscribed`` runs at each subscribe confirmation (the first
one and after every reconnection, whether the client or this loop re-subscribed):
messages may have been missed before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)
RESUBSCRIBE_DELAY_S = 1.0


class RedisChannel:
    def __init__(
        self,
        redis_url: str,
        channel: str,
        *,
        name: str,
        on_message: Callable[[bytes], None],
        on_subscribed: Callable[[], None] | None = None,
    ) -> None:
        """``name`` prefixes the log events (``<name>_unsubscribed``, ``<name>_resubscribed``)."""
        self.redis_url = redis_url
        self.channel = channel
        self.name = name
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._client: Any | None = None
        self._listener: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def started(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._client = redis.from_url(
            self.redis_url,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            health_check_interval=10,
            # No retries with backoff: a publish must not hold up its caller, and the
            # listener below re-subscribes on its own terms.
            retry=Retry(NoBackoff(), 0),
        )
        self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def publish(self, data: str | bytes) -> None:
        """Send ``data`` to every subscribed replica (this one included). Raises what the
        client raises (Redis unreachable, ...); the caller decides what that costs."""
        if self._client is None:
            raise RuntimeError(f"{self.name}: the channel is not started")
        await self._client.publish(self.channel, data)

    async def _listen(self) -> None:
        assert self._client is not None
        self._failing = False
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    while True:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._failing:
                    log.warning(f"{self.name}_unsubscribed", error=type(exc).__name__)
                self._failing = True
                await asyncio.sleep(RESUBSCRIBE_DELAY_S)

    def _dispatch(self, message: dict[str, Any]) -> None:
        # Subscribe confirmations are read too: the client re-subscribes by itself after a
        # lost connection, and each confirmation means messages may have been missed.
        if message["type"] == "subscribe":
            if self._failing:
                log.info(f"{self.name}_resubscribed")
            self._failing = False
            if self._on_subscribed is not None:
                self._on_subscribed()
        elif message["type"] == "message":
            self._on_message(message["data"])
