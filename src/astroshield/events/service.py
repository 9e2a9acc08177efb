"""``emit``: a domain event into the outbox, in the caller's transaction.

The envelope is CloudEvents 1.0 (JSON format) with the W3C ``traceparent`` extension of
the span current at the change. ``type`` is the bare event type (``conjunction.created``);
``source`` names the organisation (``/astroshield/<slug>``). Nothing is committed here:
the change and its event are stored together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.db import uuid7
from astroshield.errors import NotFoundError
from astroshield.events import catalogue, repository
from astroshield.events.models import OutboxEvent
from astroshield.events.schemas import EventTypeList, EventTypeRead

_SLUGS_KEY = "astroshield.events.slugs"


def _traceparent() -> str | None:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


def envelope(
    owner: str, event_type: str, subject: str, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The CloudEvents envelope of one event of ``owner`` (an organisation slug)."""
    document: dict[str, Any] = {
        "specversion": catalogue.SPECVERSION,
        "id": str(uuid7()),
        "source": f"/astroshield/{owner}",
        "type": event_type,
        "time": _json_value(now),
        "subject": subject,
        "datacontenttype": catalogue.DATACONTENTTYPE,
        "data": _json_value(data),
    }
    if (traceparent := _traceparent()) is not None:
        document["traceparent"] = traceparent
    return document


async def _owner(session: AsyncSession, organisation_id: uuid.UUID | None) -> str:
    if organisation_id is None:
        return catalogue.PLATFORM
    slugs: dict[uuid.UUID, str] = session.info.setdefault(_SLUGS_KEY, {})
    if organisation_id not in slugs:
        slug = await repository.organisation_slug(session, organisation_id)
        if slug is None:
            raise NotFoundError(f"organisation {organisation_id} not found")
        slugs[organisation_id] = slug
    return slugs[organisation_id]


async def emit(
    session: AsyncSession,
    organisation_id: uuid.UUID | None,
    event_type: str,
    subject: object,
    data: Mapping[str, Any],
) -> OutboxEvent:
    """Add one event to the outbox in ``session``'s transaction (never commits).
    ``organisation_id`` None is a platform event; ``subject`` is what the event is about
    (an id); ``data`` must match the type's schema in ``schemas/``."""
    if event_type not in catalogue.EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    owner = await _owner(session, organisation_id)
    now = datetime.now(UTC)
    document = envelope(owner, event_type, str(subject), data, now)
    row = OutboxEvent(
        id=uuid.UUID(document["id"]),
        organisation_id=organisation_id,
        subject=catalogue.nats_subject(owner, event_type),
        type=event_type,
        envelope=document,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
    )
    repository.add(session, row)
    return row


async def outbox_of(
    session: AsyncSession, organisation_id: uuid.UUID, limit: int = 100
) -> list[OutboxEvent]:
    """The organisation's outbox rows, oldest first."""
    return list(await repository.OutboxRepository(session).for_organisation(organisation_id, limit))


def inserted_in_session(row: object) -> bool:
    """Whether ``row`` was added by this session (a new row) rather than loaded: a
    conjunction event opened by this CDM is ``created``, an existing one ``updated``."""
    state = inspect(row)
    return state is not None and state.insert_order is not None


def schema_of(event_type: str) -> dict[str, Any]:
    return catalogue.event_schema(event_type)


def event_types(schema_base: str) -> EventTypeList:
    return EventTypeList(
        items=[
            EventTypeRead(
                type=name,
                description=catalogue.event_schema(name)["description"],
                nats_subject=catalogue.nats_subject("<organisation-slug>", name),
                schema_url=f"{schema_base}/{name}",
            )
            for name in catalogue.EVENT_TYPES
        ]
    )
