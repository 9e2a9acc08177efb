"""The JetStream consumer of inbound messages: a durable pull consumer on the stream
``ASTROSHIELD`` filtered to ``astroshield.ingest.>`` (never the outbox's
``astroshield.events.>``), explicit acknowledgement after the database commit.

Each message ends one of three ways:

- **landed**: stored (or found stored before: a redelivery lands once), then acked;
- **dead-lettered**: refused as the HTTP endpoint would refuse it (bad subject, bad
  credential, wrong organisation, invalid body, unknown spacecraft...): published to
  ``astroshield.deadletter.<slug>.<kind>`` with its body, its headers (not the credential)
  and the problem, then terminated so that it is not redelivered;
- **retried**: the service could not take it now (database unavailable, ingest saturated,
  an unexpected error): nak'ed with an exponential delay; after ``inbound_max_deliver``
  deliveries it is dead-lettered instead of being retried for ever.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from prometheus_client import Counter

from astroshield.api.state import AppState
from astroshield.config import Settings
from astroshield.errors import DomainError, FieldError, ServiceUnavailableError
from astroshield.events.publisher import STREAM_SUBJECTS, ensure_stream
from astroshield.inbound.landing import Landed, Landing, Message
from astroshield.inbound.messages import (
    Problem,
    SubjectError,
    deadletter_headers,
    deadletter_subject,
    parse_subject,
    retry_delay_s,
    slug_and_kind,
)
from astroshield.observability import components

log = structlog.get_logger(__name__)

INBOUND_CONSUMER: Final = "inbound_consumer"  # its component name in astroshield_component_up

INBOUND_CONSUMED = Counter(
    "astroshield_inbound_consumed_total",
    "Inbound messages taken from the bus (every delivery, redeliveries included).",
    ("kind",),
)
INBOUND_LANDED = Counter(
    "astroshield_inbound_landed_total",
    "Inbound messages landed and acknowledged; result=replayed: stored by an earlier "
    "delivery or an earlier message with the same key, nothing changed.",
    ("kind", "result"),
)
INBOUND_DEAD_LETTERED = Counter(
    "astroshield_inbound_dead_lettered_total",
    "Inbound messages refused and published to astroshield.deadletter.<slug>.<kind>.",
    ("kind", "reason"),
)
INBOUND_RETRIED = Counter(
    "astroshield_inbound_retried_total",
    "Inbound deliveries that failed for a transient reason and were nak'ed with a delay.",
    ("kind",),
)


class InboundError(Exception):
    """The bus cannot serve the consumer now (no stream, a stream bound elsewhere)."""


class TransientError(Exception):
    """A delivery that failed for a reason of the service's, not of the message."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


class RefusedError(Exception):
    """The message itself is wrong: dead-lettered."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


def problem_of(exc: DomainError) -> Problem:
    return Problem(exc.status, exc.slug, exc.title, exc.detail, [dict(e) for e in exc.errors])


class InboundConsumer:
    """One connection and one durable pull subscription; replicas share the durable, so
    each message goes to one of them at a time."""

    def __init__(self, state: AppState, settings: Settings) -> None:
        if settings.nats_url is None:
            raise ValueError("the inbound consumer needs ASTROSHIELD_NATS_URL")
        self.landing = Landing(state)
        self.url, self.stream = settings.nats_url, settings.nats_stream
        self.timeout_s = settings.nats_publish_timeout_s
        self.durable = settings.inbound_durable
        self.filter_subject = settings.inbound_filter_subject
        self.ack_wait_s = settings.inbound_ack_wait_s
        self.batch_size = settings.inbound_batch_size
        self.max_deliver = settings.inbound_max_deliver
        self.retry_base_s = settings.inbound_retry_base_s
        self.retry_max_s = settings.inbound_retry_max_s
        self._client: Client | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None

    # ------------------------------------------------------------------------ connection

    async def connect(self) -> JetStreamContext.PullSubscription:
        """Connect (the first attempt bounded), create or check the stream, bind the
        durable consumer (created on first use)."""
        if self._subscription is not None and self._client is not None:
            return self._subscription
        client = Client()
        try:
            await asyncio.wait_for(
                client.connect(
                    self.url,
                    connect_timeout=max(1, round(self.timeout_s)),
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    error_cb=_ignore_error,
                ),
                timeout=2 * self.timeout_s,
            )
            jetstream = client.jetstream(timeout=self.timeout_s)
            await self._check_stream(jetstream)
            self._subscription = await jetstream.pull_subscribe(
                self.filter_subject,
                durable=self.durable,
                stream=self.stream,
                config=ConsumerConfig(
                    durable_name=self.durable,
                    filter_subject=self.filter_subject,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=self.ack_wait_s,
                    deliver_policy=DeliverPolicy.ALL,
                    max_deliver=-1,  # counted here: the last delivery is dead-lettered
                ),
            )
        except BaseException:
            await client.close()
            raise
        self._client = client
        components.record_component(INBOUND_CONSUMER, True)
        log.info("inbound_consumer_bound", durable=self.durable, subjects=self.filter_subject)
        return self._subscription

    async def _check_stream(self, jetstream: JetStreamContext) -> None:
        if not await ensure_stream(jetstream, self.stream):
            log.error("nats_stream_mismatch", stream=self.stream, expected=STREAM_SUBJECTS)
            raise InboundError(f"stream {self.stream} is not bound to {STREAM_SUBJECTS}")

    async def close(self) -> None:
        client, self._client, self._subscription = self._client, None, None
        if client is not None and not client.is_closed:
            await client.close()

    # ---------------------------------------------------------------------------- the loop

    async def run_once(self, timeout_s: float = 1.0) -> list[str]:
        """Fetch up to a batch (waiting at most ``timeout_s``) and settle each message;
        what became of each (``landed``, ``replayed``, ``dead-lettered``, ``retried``)."""
        subscription = await self.connect()
        try:
            messages = await subscription.fetch(self.batch_size, timeout=timeout_s)
        except TimeoutError:  # nats' own or asyncio's: nothing arrived in time
            return []
        return [await self.process(message) for message in messages]

    async def run_forever(self, fetch_timeout_s: float = 1.0) -> None:
        """The lifespan's loop: a failure (bus unreachable, stream wrong) is logged,
        reported (component down) and retried; cancellation closes the connection."""
        try:
            while True:
                try:
                    await self.run_once(fetch_timeout_s)
                except Exception as exc:
                    components.record_component(INBOUND_CONSUMER, False)
                    log.warning("inbound_consumer_failed", error=repr(exc))
                    await self.close()
                    await asyncio.sleep(self.retry_base_s)
        finally:
            await self.close()
            components.record_component(INBOUND_CONSUMER, None)

    # ---------------------------------------------------------------------- one message

    async def process(self, msg: Msg) -> str:
        kind = slug_and_kind(msg.subject)[1]
        INBOUND_CONSUMED.labels(kind).inc()
        metadata = msg.metadata
        message = Message(msg.subject, dict(msg.headers or {}), msg.data, metadata.sequence.stream)
        try:
            landed = await self._land(message)
        except TransientError as exc:
            if metadata.num_delivered >= self.max_deliver:
                return await self._dead_letter(msg, message, kind, exc.problem)
            delay = retry_delay_s(metadata.num_delivered, self.retry_base_s, self.retry_max_s)
            log.warning(
                "inbound_retry",
                subject=msg.subject,
                deliveries=metadata.num_delivered,
                delay_s=delay,
                error=exc.problem.detail,
            )
            INBOUND_RETRIED.labels(kind).inc()
            await msg.nak(delay=delay)
            return "retried"
        except RefusedError as exc:
            return await self._dead_letter(msg, message, kind, exc.problem)
        result = "stored" if landed.created else "replayed"
        await msg.ack_sync(timeout=self.timeout_s)
        INBOUND_LANDED.labels(kind, result).inc()
        log.info("inbound_landed", subject=msg.subject, result=result, **landed.summary)
        return "landed" if landed.created else "replayed"

    async def _land(self, message: Message) -> Landed:
        """Land, sorting every failure into a refusal of the message or a transient one."""
        try:
            return await self.landing.land(parse_subject(message.subject), message)
        except SubjectError as exc:
            raise RefusedError(
                Problem(
                    422,
                    "validation-error",
                    "Request validation failed",
                    exc.detail,
                    [FieldError(["subject", exc.field], exc.detail)],
                )
            ) from None
        except ServiceUnavailableError as exc:
            raise TransientError(problem_of(exc)) from None
        except DomainError as exc:
            raise RefusedError(problem_of(exc)) from None
        except Exception as exc:  # the database, a bug: nothing wrong with the message
            log.exception("inbound_landing_failed", subject=message.subject)
            raise TransientError(
                Problem(
                    503,
                    "service-unavailable",
                    "Service unavailable",
                    f"the message could not be stored now: {type(exc).__name__}",
                )
            ) from None

    async def _dead_letter(self, msg: Msg, message: Message, kind: str, problem: Problem) -> str:
        """Publish the dead letter (JetStream-acknowledged), then terminate the original;
        if the dead letter cannot be published the original is retried instead."""
        subject = deadletter_subject(msg.subject)
        headers = deadletter_headers(message.headers, msg.subject, message.stream_sequence, problem)
        try:
            client = self._client
            if client is None:
                raise InboundError("not connected")
            jetstream = client.jetstream(timeout=self.timeout_s)
            await jetstream.publish(subject, msg.data, headers=headers)
        except Exception as exc:
            log.warning("inbound_deadletter_failed", subject=subject, error=repr(exc))
            INBOUND_RETRIED.labels(kind).inc()
            await msg.nak(delay=self.retry_max_s)
            return "retried"
        await msg.term()
        INBOUND_DEAD_LETTERED.labels(kind, problem.slug).inc()
        log.warning(
            "inbound_dead_lettered",
            subject=msg.subject,
            deadletter=subject,
            reason=problem.slug,
            detail=problem.detail,
        )
        return "dead-lettered"


async def _ignore_error(exc: Any) -> None:
    """Connection errors show in the loop's failures and the component gauge."""
    log.debug("nats_connection_error", error=repr(exc))
