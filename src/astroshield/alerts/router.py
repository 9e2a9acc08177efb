"""Alerts API: list and inspect, acknowledge, shelve, rules, and a live stream (SSE)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from astroshield.alerts import service
from astroshield.alerts.links import AlertLinks
from astroshield.alerts.schemas import (
    AcknowledgeRequest,
    AlertDetail,
    AlertEventRead,
    AlertRead,
    RuleCreate,
    RuleRead,
    SeverityName,
    ShelveRequest,
)
from astroshield.api.deps import ActorDep, SessionDep, require_scope
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.api.schemas import parse_int63
from astroshield.api.state import state_of
from astroshield.db import session_scope
from astroshield.errors import FieldError, InvalidInputError
from astroshield.features.catalogue import Flag
from astroshield.features.gate import require_feature
from astroshield.security.authentication import authority_lapsed, presented_token
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/alerts", tags=["alerts"])
Reader = Annotated[Principal, Depends(require_scope(Scope.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.ALERTS_WRITE))]
STREAM_POLL_S = 1.0


@router.get("")
async def list_alerts(
    reader: Reader,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[
        str | None,
        Query(alias="status", pattern="^(pending|firing|acknowledged|resolved|inactive)$"),
    ] = None,
    severity: SeverityName | None = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    spacecraft_id: Annotated[
        uuid.UUID | None, Query(description="alerts about this spacecraft of yours")
    ] = None,
    event_id: Annotated[
        uuid.UUID | None, Query(description="the Pc alert of this conjunction event")
    ] = None,
    parameter: Annotated[
        str | None, Query(max_length=128, description="limit alarms of this telemetry parameter")
    ] = None,
) -> Page[AlertRead]:
    """Newest first; platform alerts only for platform administrators. Each alert names
    what it is about in `spacecraft_id`, `event_id` and `parameter` (null when it is not
    about one), and the same three filter the list; filters combine. A spacecraft or event
    of another organisation simply matches nothing."""
    rows = await service.list_alerts(
        session,
        reader,
        status=status_,
        severity=severity,
        rule_key=rule,
        links=AlertLinks(spacecraft_id=spacecraft_id, event_id=event_id, parameter=parameter),
        after_id=cursor_value(page, "id", uuid.UUID),
        limit=page.limit + 1,
    )
    return make_page(rows, page, render=AlertRead.model_validate, key=id_key)


@router.get("/stream", dependencies=[require_feature(Flag.LIVE_STREAMS)])
async def stream(request: Request, reader: Reader) -> StreamingResponse:
    """Server-Sent Events: one ``alert`` event per change, from now on. It reads the
    persisted history, so every replica streams the same changes whichever evaluated them;
    ``Last-Event-ID`` resumes after a reconnect.

    The stream lasts as long as the token that opened it counts: when it expires or is
    revoked (logout, password change, deactivation, a role without ``alerts:read``), a
    last ``closed`` event says why (``data: {"reason": "token expired"}``) and the
    response ends. Reconnect with a fresh token and ``Last-Event-ID``."""
    sessionmaker = state_of(request).sessionmaker
    token, method = presented_token(request)
    resume = request.headers.get("last-event-id")
    # Checked before the stream starts: a 200 cannot turn into a refusal later.
    resume_after = None if resume is None else parse_int63(resume)
    if resume is not None and resume_after is None:
        raise InvalidInputError(
            "Last-Event-ID must be the id of an event this stream sent",
            errors=[FieldError(["header", "Last-Event-ID"], "must be a non-negative integer")],
        )

    async def events() -> AsyncIterator[bytes]:
        async with session_scope(sessionmaker) as session:
            last = (
                resume_after if resume_after is not None else await service.latest_event_id(session)
            )
        authority = asyncio.ensure_future(
            authority_lapsed(request, token, method, reader, Scope.ALERTS_READ)
        )
        try:
            yield b": connected\n\n"
            while not authority.done() and not await request.is_disconnected():
                async with session_scope(sessionmaker) as session:
                    batch = await service.events_after(session, reader, last)
                for event in batch:
                    last = event.id
                    payload = AlertEventRead.model_validate(event).model_dump_json()
                    yield f"id: {event.id}\nevent: alert\ndata: {payload}\n\n".encode()
                if not batch:
                    yield b": keep-alive\n\n"
                    await asyncio.wait({authority}, timeout=STREAM_POLL_S)
            if authority.done():
                reason = json.dumps({"reason": authority.result()})
                yield f"event: closed\ndata: {reason}\n\n".encode()
        finally:
            authority.cancel()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/rules")
async def list_rules(reader: Reader, session: SessionDep) -> list[RuleRead]:
    rows = await service.list_rules(session, reader)
    return [RuleRead.model_validate(row) for row in rows]


@router.post("/rules", status_code=status.HTTP_201_CREATED)
async def create_rule(
    data: RuleCreate, writer: Writer, session: SessionDep, actor: ActorDep
) -> RuleRead:
    """A rule of the caller's organisation (its metric is fed by that organisation's data)."""
    row = await service.create_rule(session, writer, data, actor=actor)
    return RuleRead.model_validate(row)


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(
    rule_id: uuid.UUID, writer: Writer, session: SessionDep, actor: ActorDep
) -> Response:
    await service.delete_rule(session, writer, rule_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{alert_id}")
async def get_alert(alert_id: uuid.UUID, reader: Reader, session: SessionDep) -> AlertDetail:
    found = await service.get_alert(session, reader, alert_id)
    history = [AlertEventRead.model_validate(e) for e in found.history]
    return AlertDetail(**AlertRead.model_validate(found.alert).model_dump(), history=history)


@router.post("/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: uuid.UUID,
    data: AcknowledgeRequest,
    writer: Writer,
    session: SessionDep,
    actor: ActorDep,
) -> AlertRead:
    alert = await service.acknowledge(
        session,
        writer,
        alert_id,
        comment=data.comment,
        actor=actor,
        now=datetime.now(UTC),
    )
    return AlertRead.model_validate(alert)


@router.post("/{alert_id}/shelve")
async def shelve(
    alert_id: uuid.UUID,
    data: ShelveRequest,
    writer: Writer,
    session: SessionDep,
    actor: ActorDep,
) -> AlertRead:
    alert = await service.shelve(
        session,
        writer,
        alert_id,
        duration=timedelta(seconds=data.duration_s),
        actor=actor,
        now=datetime.now(UTC),
    )
    return AlertRead.model_validate(alert)


@router.post("/{alert_id}/unshelve")
async def unshelve(
    alert_id: uuid.UUID, writer: Writer, session: SessionDep, actor: ActorDep
) -> AlertRead:
    alert = await service.shelve(
        session, writer, alert_id, duration=None, actor=actor, now=datetime.now(UTC)
    )
    return AlertRead.model_validate(alert)
