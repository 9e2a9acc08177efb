from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from astroshield.api.deps import (
    ActorDep,
    SessionDep,
    SettingsDep,
    authorize,
    path_uuid,
    require_scope,
    session_of,
    uuid_path_parameter,
)
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.api.schemas import UTCDatetime
from astroshield.api.state import state_of
from astroshield.errors import FieldError, InvalidInputError
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.spacecraft import service
from astroshield.spacecraft.models import HealthState, OperationalMode, SpacecraftStatusReport
from astroshield.spacecraft.schemas import (
    SpacecraftCreate,
    SpacecraftRead,
    SpacecraftStatus,
    SpacecraftUpdate,
    StatusReportAccepted,
    StatusReportCreate,
    StatusReportRead,
)

router = APIRouter(prefix="/spacecraft", tags=["spacecraft"])
Reader = Annotated[Principal, Depends(require_scope(Scope.SPACECRAFT_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.SPACECRAFT_WRITE))]


async def get_status_cache(request: Request) -> service.StatusCache:
    cache = state_of(request).component(service.StatusCache)
    return cache


StatusCacheDep = Annotated[service.StatusCache, Depends(get_status_cache)]


# First in the router: route matching walks the list in order, and this is the hot read.
@router.get(
    "/{spacecraft_id}/status",
    response_model=SpacecraftStatus,
    openapi_extra=uuid_path_parameter("spacecraft_id", "the spacecraft's id"),
)
async def get_status(request: Request) -> Response:
    """Current operational status: mode, health and where it comes from (an override, the
    open telemetry limit alarms, the latest report), last contact, orbit epoch."""
    # The request is the only parameter: FastAPI's parameter resolution cost more than
    # the rest of this cached read.
    principal = await authorize(request, Scope.SPACECRAFT_READ)
    spacecraft_id = path_uuid(request, "spacecraft_id")
    state = state_of(request)
    snapshot = await service.current_status(
        lambda: session_of(request),
        principal,
        spacecraft_id,
        cache=state.component(service.StatusCache),
        contact_stale_s=state.settings.spacecraft_contact_stale_s,
    )
    return Response(snapshot.json, media_type="application/json")


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_spacecraft(
    data: SpacecraftCreate,
    principal: Writer,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
) -> SpacecraftRead:
    created = await service.create_spacecraft(session, principal, data, actor=actor)
    return service.spacecraft_read(created, contact_stale_s=settings.spacecraft_contact_stale_s)


def _mode_filter(
    mode: OperationalMode | None, alias: OperationalMode | None
) -> OperationalMode | None:
    """``mode``, or its deprecated alias ``status``; both, differing, is a 422."""
    if mode is not None and alias is not None and mode != alias:
        raise InvalidInputError(
            "status is the old name of mode; give one of them, or the same value",
            errors=[FieldError(["query", "status"], f"differs from mode={mode.value}")],
        )
    return mode or alias


@router.get("")
async def list_spacecraft(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    settings: SettingsDep,
    mode: Annotated[OperationalMode | None, Query(description="operational mode")] = None,
    health: Annotated[
        HealthState | None, Query(description="the health in force now (any source)")
    ] = None,
    mode_alias: Annotated[
        OperationalMode | None,
        Query(alias="status", deprecated=True, description="deprecated: the old name of `mode`"),
    ] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> Page[SpacecraftRead]:
    """The caller's organisation's spacecraft, filtered by mode, health and name substring."""
    rows = await service.list_spacecraft(
        session,
        principal,
        mode=_mode_filter(mode, mode_alias),
        health=health,
        name_contains=name,
        after_id=cursor_value(page, "id", uuid.UUID),
        limit=page.limit + 1,
    )
    stale_s = settings.spacecraft_contact_stale_s
    return make_page(
        rows,
        page,
        render=lambda row: service.spacecraft_read(row, contact_stale_s=stale_s),
        key=id_key,
    )


@router.get("/{spacecraft_id}")
async def get_spacecraft(
    spacecraft_id: uuid.UUID, principal: Reader, session: SessionDep, settings: SettingsDep
) -> SpacecraftRead:
    return service.spacecraft_read(
        await service.get_spacecraft(session, principal.organisation_id, spacecraft_id),
        contact_stale_s=settings.spacecraft_contact_stale_s,
    )


@router.patch("/{spacecraft_id}")
async def update_spacecraft(
    spacecraft_id: uuid.UUID,
    data: SpacecraftUpdate,
    principal: Writer,
    cache: StatusCacheDep,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
) -> SpacecraftRead:
    updated = await service.update_spacecraft(
        session, principal, spacecraft_id, data, cache=cache, actor=actor
    )
    return service.spacecraft_read(updated, contact_stale_s=settings.spacecraft_contact_stale_s)


@router.delete("/{spacecraft_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_spacecraft(
    spacecraft_id: uuid.UUID,
    principal: Writer,
    cache: StatusCacheDep,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    await service.delete_spacecraft(session, principal, spacecraft_id, cache=cache, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{spacecraft_id}/status", status_code=status.HTTP_201_CREATED)
async def report_status(
    spacecraft_id: uuid.UUID,
    data: StatusReportCreate,
    principal: Writer,
    cache: StatusCacheDep,
    session: SessionDep,
    actor: ActorDep,
) -> StatusReportAccepted:
    """Record a status report. With ``override`` (a reason and an expiry at most 30 days
    ahead) its health is in force until then, or until the override is cleared, whatever
    the telemetry alarms say. Without, the report sets mode, summary, last contact and orbit
    epoch, and its health counts only while telemetry does not drive the health: the
    answer's ``current_health`` and ``health_source`` say which health is in force."""
    return await service.record_status(
        session, principal, spacecraft_id, data, cache=cache, actor=actor
    )


@router.delete("/{spacecraft_id}/status/override", status_code=status.HTTP_204_NO_CONTENT)
async def clear_status_override(
    spacecraft_id: uuid.UUID,
    principal: Writer,
    cache: StatusCacheDep,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    """End the health override in force (404 without one): the health derived from
    telemetry, else the latest report's, is in force again."""
    await service.clear_override(session, principal, spacecraft_id, cache=cache, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _history_key(report: SpacecraftStatusReport) -> dict[str, str]:
    return {"t": report.reported_at.isoformat(), "id": str(report.id)}


@router.get("/{spacecraft_id}/status/history")
async def get_status_history(
    spacecraft_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    start: UTCDatetime | None = None,
    stop: UTCDatetime | None = None,
) -> Page[StatusReportRead]:
    """Reports and health changes, newest first; ``source`` says what wrote each row
    (report, override, override-cleared, override-expired, telemetry) and ``reason`` why."""
    if start is not None and stop is not None and start >= stop:
        raise InvalidInputError(
            "start must be before stop",
            errors=[FieldError(["query", "stop"], "must be after start")],
        )
    after_time = cursor_value(page, "t", datetime)
    after_id = cursor_value(page, "id", uuid.UUID)
    before = (after_time, after_id) if after_time and after_id else None
    rows = await service.status_history(
        session,
        principal,
        spacecraft_id,
        start=start,
        stop=stop,
        before=before,
        limit=page.limit + 1,
    )
    return make_page(rows, page, render=StatusReportRead.model_validate, key=_history_key)
