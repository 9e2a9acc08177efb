"""Publishing to NATS JetStream (nats-py): the stream check at start and one publish per
event with ``Nats-Msg-Id`` = the event id, so that a relay retry within the stream's
de-duplication window is stored once."""

from __future__ import annotations

import asyncio
from typing import Any, Final, Protocol

import structlog
from nats.aio.client import Client
from nats.js.api import StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from astroshield.events.catalogue import SUBJECT_PREFIX
from astroshield.observability import components

log = structlog.get_logger(__name__)

NATS_COMPONENT: Final = "nats"
STREAM_SUBJECTS: Final = f"{SUBJECT_PREFIX}.>"
# JetStream drops a second message with the same Nats-Msg-Id within this window.
DUPLICATE_WINDOW_S: Final = 120.0


class PublishError(Exception):
    """The bus did not take the event (not connected, no stream, no acknowledgement)."""


class Publisher(Protocol):
    """Where the relay sends events; ``name`` is recorded in ``published_to``."""

    name: str

    async def publish(self, subject: str, payload: bytes, event_id: str) -> None: ...

    async def close(self) -> None: ...


class NoBus:
    """No bus configured: events are kept in the outbox, marked as handled (``none``)."""

    name = "none"

    async def publish(self, subject: str, payload: bytes, event_id: str) -> None:
        return None

    async def close(self) -> None:
        return None


class JetStreamPublisher:
    """One connection, reconnecting by itself; the stream is (re)checked after every
    (re)connection. A stream that exists bound to other subjects is not changed: the
    service logs ``nats_stream_mismatch`` and reports ``nats`` down, and the events wait
    in the outbox."""

    name = "nats"

    def __init__(self, url: str, stream: str, *, timeout_s: float = 2.0) -> None:
        self.url, self.stream, self.timeout_s = url, stream, timeout_s
        self._client: Client | None = None
        self._stream_ok = False

    async def _disconnected(self) -> None:
        self._stream_ok = False
        components.record_component(NATS_COMPONENT, False)

    async def _connect(self) -> Client:
        if self._client is None or self._client.is_closed:
            client = Client()
            connecting = client.connect(
                self.url,
                connect_timeout=max(1, round(self.timeout_s)),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                disconnected_cb=self._disconnected,
                error_cb=_ignore_error,
            )
            try:
                # Once connected the client reconnects by itself, forever; the first
                # connection is bounded here (nats-py would retry it forever too).
                await asyncio.wait_for(connecting, timeout=2 * self.timeout_s)
            except BaseException:
                await client.close()
                raise
            self._client = client
        return self._client

    async def start(self) -> bool:
        """Connect and create or check the stream; False (logged, gauge 0) when either
        failed: publishing tries again."""
        try:
            await self._ready()
        except PublishError:
            return False
        return True

    async def _ready(self) -> Client:
        try:
            client = await self._connect()
        except Exception as exc:
            components.record_component(NATS_COMPONENT, False)
            raise PublishError(f"cannot connect to NATS at {self.url}: {exc!r}") from exc
        if not client.is_connected:
            raise PublishError("NATS connection is down (reconnecting)")
        if not self._stream_ok:
            await self._check_stream(client)
        return client

    async def _check_stream(self, client: Client) -> None:
        jetstream = client.jetstream(timeout=self.timeout_s)
        try:
            if not await ensure_stream(jetstream, self.stream):
                log.error(
                    "nats_stream_mismatch",
                    stream=self.stream,
                    expected=STREAM_SUBJECTS,
                    detail="the stream exists bound to other subjects; events stay in "
                    "the outbox until it is fixed",
                )
                components.record_component(NATS_COMPONENT, False)
                raise PublishError(f"stream {self.stream} is not bound to {STREAM_SUBJECTS}")
        except PublishError:
            raise
        except Exception as exc:
            components.record_component(NATS_COMPONENT, False)
            raise PublishError(f"JetStream stream check failed: {exc!r}") from exc
        self._stream_ok = True
        components.record_component(NATS_COMPONENT, True)

    async def publish(self, subject: str, payload: bytes, event_id: str) -> None:
        client = await self._ready()
        try:
            ack = await client.jetstream(timeout=self.timeout_s).publish(
                subject, payload, headers={"Nats-Msg-Id": event_id}
            )
        except Exception as exc:
            raise PublishError(f"JetStream did not acknowledge: {exc!r}") from exc
        if ack.stream != self.stream:
            raise PublishError(f"stored by stream {ack.stream}, not {self.stream}")

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            await client.close()
        components.record_component(NATS_COMPONENT, None)


async def _ignore_error(exc: Any) -> None:
    """Connection errors are reported by the publishes that fail (and the gauge)."""
    log.debug("nats_connection_error", error=repr(exc))


async def ensure_stream(jetstream: JetStreamContext, stream: str) -> bool:
    """Create ``stream`` bound to ``astroshield.>`` when it is missing; whether it is bound
    to it (False: it exists, bound to other subjects, and is left alone)."""
    try:
        info = await jetstream.stream_info(stream)
    except NotFoundError:
        await jetstream.add_stream(
            StreamConfig(
                name=stream, subjects=[STREAM_SUBJECTS], duplicate_window=DUPLICATE_WINDOW_S
            )
        )
        log.info("nats_stream_created", stream=stream, subjects=STREAM_SUBJECTS)
        return True
    return STREAM_SUBJECTS in list(info.config.subjects or [])
