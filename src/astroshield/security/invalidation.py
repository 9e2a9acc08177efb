"""Telling every replica at once that cached authorizations went stale.

Each replica remembers, per access token, what the database said about it (the grant
cache, ``auth_cache_ttl_s``). Revocations are written to the database, which stays the
truth; once such a write is committed, the grants it affects are dropped here in this
process and, with ``ASTROSHIELD_REDIS_URL``, on every other replica through a Redis
pub/sub channel (``<rate_limit_namespace>-auth-invalidations``). The hot path never
talks to Redis: messages arrive on a background subscription.

Pub/sub delivers at most once. A replica that (re)subscribes may have missed messages,
so it drops its whole grant cache then; an announcement that cannot be published is
logged. Either way the cache lifetime bounds how long a replica can lag, as it does
without Redis.

Long-lived streams wait on :meth:`AuthInvalidations.changed` to re-check their token as
soon as anything was revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass

import structlog

from astroshield.cache import TTLCache
from astroshield.pubsub import RedisChannel
from astroshield.security.grants import Grant

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Invalidation:
    """Which cached grants a committed change made stale: every token of a user, every
    token of a login (refresh-token family), or one token."""

    user_id: uuid.UUID | None = None
    login_id: str | None = None
    token_id: str | None = None

    def covers(self, grant: Grant) -> bool:
        return (self.user_id is not None and grant.user_id == self.user_id) or (
            self.login_id is not None and grant.login_id == self.login_id
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "user": None if self.user_id is None else str(self.user_id),
                "login": self.login_id,
                "token": self.token_id,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Invalidation:
        """Raises ValueError (or TypeError) for anything that is not one of ours."""
        document = json.loads(raw)
        user, login, token = document["user"], document["login"], document["token"]
        for value in (login, token):
            if value is not None and not isinstance(value, str):
                raise TypeError("login and token ids are strings")
        return cls(None if user is None else uuid.UUID(user), login, token)


class AuthInvalidations:
    def __init__(self, grants: TTLCache[str, Grant], *, redis_url: str | None, channel: str):
        self.grants = grants
        self.redis_url = redis_url
        self.channel = channel
        # A replica that (re)subscribes may have missed messages: it forgets everything.
        self._channel = (
            RedisChannel(
                redis_url,
                channel,
                name="auth_invalidations",
                on_message=self._received,
                on_subscribed=self.forget_everything,
            )
            if redis_url
            else None
        )
        # Replaced each time it is set, so every waiter wakes exactly once per change.
        # Made in start(): an event belongs to the loop that first waits on it.
        self._changed: asyncio.Event | None = None

    async def start(self) -> None:
        self._changed = asyncio.Event()
        if self._channel is not None:
            await self._channel.start()

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.stop()

    async def announce(self, invalidation: Invalidation) -> None:
        """Drop the stale grants here, then tell the other replicas. Call it only after
        the change is committed: a replica told earlier could re-read the old state and
        keep it for a whole cache lifetime."""
        self.apply(invalidation)
        if self._channel is None or not self._channel.started:
            return
        try:
            await self._channel.publish(invalidation.to_json())
        except Exception as exc:  # the other replicas catch up within the cache lifetime
            log.warning("auth_invalidation_not_published", error=type(exc).__name__)

    def apply(self, invalidation: Invalidation) -> None:
        if invalidation.token_id is not None:
            self.grants.invalidate(invalidation.token_id)
        if invalidation.user_id is not None or invalidation.login_id is not None:
            self.grants.discard_where(invalidation.covers)
        self._wake()

    def forget_everything(self) -> None:
        self.grants.clear()
        self._wake()

    async def changed(self, timeout_s: float) -> None:
        """Return when the next invalidation is applied here, or after ``timeout_s``."""
        event = self._changed
        if event is None:
            await asyncio.sleep(timeout_s)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await event.wait()

    def _wake(self) -> None:
        if self._changed is not None:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    def _received(self, raw: str | bytes) -> None:
        try:
            invalidation = Invalidation.from_json(raw)
        except (ValueError, TypeError, KeyError):
            # Not understood: dropping everything is always safe, only slower.
            log.warning("auth_invalidation_malformed")
            self.forget_everything()
            return
        self.apply(invalidation)
