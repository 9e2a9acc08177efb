"""Landing one inbound message: who sent it (the access token in its ``Authorization``
header, checked by the one authentication path), whether it may write there (its
organisation is the subject's, it holds the write scope of the HTTP endpoint), then the
HTTP endpoint's own service call in one transaction, and the HTTP path's after-commit work.

Every refusal is the :class:`DomainError` the HTTP endpoint would have answered with; the
consumer turns it into a dead letter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import structlog

from astroshield.api.json_body import decode_json_body
from astroshield.api.middleware import media_type_of
from astroshield.api.state import AppState
from astroshield.audit.service import record_detached
from astroshield.auth import bus_credentials
from astroshield.conjunction.service import intake
from astroshield.db import session_scope, utcnow
from astroshield.errors import (
    AuthenticationError,
    FieldError,
    ForbiddenError,
    UnsupportedMediaTypeError,
)
from astroshield.inbound.messages import Target, header
from astroshield.organisations.service import get_organisation
from astroshield.security.actor import Actor
from astroshield.security.authentication import principal_of, verify_access
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.spacecraft.service import StatusCache
from astroshield.telemetry import ingest
from astroshield.telemetry.live import LiveHub

log = structlog.get_logger(__name__)

# As the HTTP endpoints: the JSON batch route, the packets route, the CDM upload.
JSON_MEDIA_TYPE: Final = "application/json"
PACKETS_MEDIA_TYPE: Final = "application/octet-stream"
WRITE_SCOPE: Final = {"telemetry": Scope.TELEMETRY_WRITE, "cdm": Scope.CONJUNCTIONS_WRITE}


@dataclass(frozen=True, slots=True)
class Landed:
    """What a message stored: ``created`` False when it had been stored before (a
    redelivery or a re-sent batch/MESSAGE_ID), so nothing changed."""

    kind: str
    created: bool
    summary: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    """The parts of a bus message landing needs (the bus's own type stays in the consumer)."""

    subject: str
    headers: Mapping[str, str]
    body: bytes
    stream_sequence: int


class Landing:
    """Lands messages into the app whose state it is given (sessions, security, caches)."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    async def land(self, target: Target, message: Message) -> Landed:
        principal = await self.authenticate(message.headers)
        await self.authorize(principal, target, message.subject)
        if target.kind == "cdm":
            return await self._land_cdm(principal, message)
        assert target.spacecraft_id is not None
        return await self._land_telemetry(principal, target.spacecraft_id, message)

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """``Authorization: Bearer`` with a bus credential (``asb_...``, long-lived, made
        for machines) or an access token, checked as every request's is."""
        authorization = header(headers, "Authorization")
        if authorization is None:
            raise AuthenticationError("the message carries no Authorization: Bearer header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("the Authorization header is not 'Bearer <token>'")
        token = token.strip()
        if bus_credentials.looks_like_bus_credential(token):
            async with session_scope(self.state.sessionmaker) as session:
                return await bus_credentials.authenticate(session, token, utcnow())
        opener = partial(session_scope, self.state.sessionmaker)
        verified, grant = await verify_access(self.state.security, token, "bearer", opener)
        return principal_of(verified, grant, "bearer")

    async def authorize(self, principal: Principal, target: Target, subject: str) -> None:
        """The subject's organisation must be the credential's, and the credential must hold
        the HTTP endpoint's write scope; a refusal is audited as on HTTP."""
        scope = WRITE_SCOPE[target.kind]
        if not principal.has(scope):
            await self._audit_refusal(principal, subject, scope=scope)
            raise ForbiddenError(f"this action needs the '{scope}' permission")
        async with session_scope(self.state.sessionmaker) as session:
            organisation = await get_organisation(session, principal, principal.organisation_id)
            slug = organisation.slug
        if slug != target.slug:
            await self._audit_refusal(principal, subject, organisation=target.slug)
            raise ForbiddenError(
                f"the credential is not of organisation {target.slug!r}: publish on "
                f"astroshield.ingest.{slug}.>",
                errors=[FieldError(["subject", "organisation-slug"], "not your organisation")],
            )

    async def _audit_refusal(self, principal: Principal, subject: str, **details: str) -> None:
        actor = Actor(str(principal.user_id), principal.organisation_id, None, "nats")
        await record_detached(
            self.state.sessionmaker,
            actor.event(
                "auth.permission_denied",
                object_type="subject",
                object_id=subject,
                method="nats",
                details=details,
            ),
        )

    # ---------------------------------------------------------------------------- telemetry

    def _gate(self) -> ingest.IngestGate:
        """The HTTP ingest's gate (one per app): the bus does not get around its bound."""
        gate: ingest.IngestGate | None = getattr(self.state, "telemetry_ingest_gate", None)
        if gate is None:
            gate = ingest.IngestGate(self.state.settings.telemetry_ingest_concurrency)
            self.state.telemetry_ingest_gate = gate
        return gate

    async def _land_telemetry(
        self, principal: Principal, spacecraft_id: uuid.UUID, message: Message
    ) -> Landed:
        media_type = _media_type(message.headers, default=JSON_MEDIA_TYPE)
        if media_type not in (JSON_MEDIA_TYPE, PACKETS_MEDIA_TYPE):
            raise UnsupportedMediaTypeError(
                f"telemetry is {JSON_MEDIA_TYPE} (a batch) or {PACKETS_MEDIA_TYPE} (CCSDS "
                f"space packets), not {media_type}",
                extensions={"accepted": [JSON_MEDIA_TYPE, PACKETS_MEDIA_TYPE]},
            )
        partial_batch = (header(message.headers, "X-Partial") or "").lower() == "true"
        settings = self.state.settings
        gate = self._gate()
        gate.enter()
        try:
            async with session_scope(self.state.sessionmaker) as session:
                options: dict[str, Any] = {
                    "partial": partial_batch,
                    "settings": settings,
                    "now": utcnow(),
                }
                if media_type == JSON_MEDIA_TYPE:
                    samples, key_args = _json_batch(message)
                    key = ingest.batch_key(**key_args)
                    outcome = await ingest.ingest_samples(
                        session, principal, spacecraft_id, key, message.body, samples, **options
                    )
                else:
                    key = ingest.batch_key(**_packets_key(message))
                    outcome = await ingest.ingest_packets(
                        session, principal, spacecraft_id, key, message.body, **options
                    )
        finally:
            gate.leave()
        if outcome.created:
            self._after_telemetry(principal, spacecraft_id, outcome)
        return Landed("telemetry", outcome.created, outcome.result.model_dump(mode="json"))

    def _after_telemetry(
        self, principal: Principal, spacecraft_id: uuid.UUID, outcome: ingest.IngestOutcome
    ) -> None:
        """What the HTTP route does once the batch is committed: notifications, the status
        cache entry dropped, the live feed."""
        self._notify(outcome.notifications)
        self.state.component(StatusCache).invalidate((principal.organisation_id, spacecraft_id))
        hub = self.state.component(LiveHub)
        listening = hub.listening(spacecraft_id)
        for live in outcome.alarm_messages:
            hub.publish(spacecraft_id, live)
        if listening:
            for live in outcome.sample_messages():
                hub.publish(spacecraft_id, live)

    # ---------------------------------------------------------------------------------- CDMs

    async def _land_cdm(self, principal: Principal, message: Message) -> Landed:
        media_type = _media_type(message.headers, default="")
        actor = Actor(
            str(principal.user_id),
            principal.organisation_id,
            f"nats-{message.stream_sequence}",
            "nats",
        )
        async with session_scope(self.state.sessionmaker) as session:
            upload = await intake.ingest_cdm(
                session,
                principal,
                self.state.settings,
                message.body,
                media_type,
                actor=actor,
                source="nats",
            )
            summary = {
                "event_id": str(upload.event.id),
                "cdm_id": str(upload.cdm.id),
                "message_id": upload.cdm.message_id,
                "tier": upload.event.tier,
            }
        self._notify(upload.notifications)
        return Landed("cdm", not upload.duplicate, summary)

    def _notify(self, notifications: Any) -> None:
        """Dispatched in the background, as after an HTTP request (delivery has its own
        retries); only ever called after the commit."""
        pending = list(notifications)
        if not pending:
            return
        dispatcher = self.state.notification_dispatcher

        async def dispatch_all() -> None:
            for notification in pending:
                try:
                    await dispatcher.dispatch(notification)
                except Exception:
                    log.exception("notification_dispatch_failed", source="nats")

        task = asyncio.get_running_loop().create_task(dispatch_all())
        self.state.background_tasks.add(task)
        task.add_done_callback(self.state.background_tasks.discard)


def _media_type(headers: Mapping[str, str], *, default: str) -> str:
    content_type = header(headers, "Content-Type")
    return media_type_of(content_type) if content_type else default


def _json_batch(message: Message) -> tuple[Any, dict[str, Any]]:
    """The HTTP batch route's checks of the body, and the batch key's arguments: the
    ``Idempotency-Key`` header, else the body's source_id and sequence, else the
    message's ``Nats-Msg-Id``."""
    body = ingest.check_batch_body(
        decode_json_body(message.body, non_finite_numbers=True, max_depth=None)
    )
    source_id, sequence = body.get("source_id"), body.get("sequence")
    idempotency_key = header(message.headers, "Idempotency-Key")
    if idempotency_key is None and source_id is None and sequence is None:
        idempotency_key = header(message.headers, "Nats-Msg-Id")
    return body["samples"], {
        "source_id": source_id,
        "sequence": sequence,
        "idempotency_key": idempotency_key,
        "locations": (["body", "source_id"], ["body", "sequence"]),
    }


def _packets_key(message: Message) -> dict[str, Any]:
    """As the packets route: ``Idempotency-Key``, or ``X-Source-Id`` and ``X-Sequence``;
    else the message's ``Nats-Msg-Id``."""
    source_id = header(message.headers, "X-Source-Id")
    raw_sequence = header(message.headers, "X-Sequence")
    sequence: Any = raw_sequence
    if raw_sequence is not None and raw_sequence.strip().isdigit():
        sequence = int(raw_sequence.strip())
    idempotency_key = header(message.headers, "Idempotency-Key")
    if idempotency_key is None and source_id is None and raw_sequence is None:
        idempotency_key = header(message.headers, "Nats-Msg-Id")
    return {
        "source_id": source_id,
        "sequence": sequence,
        "idempotency_key": idempotency_key,
        "locations": (["header", "X-Source-Id"], ["header", "X-Sequence"]),
    }
