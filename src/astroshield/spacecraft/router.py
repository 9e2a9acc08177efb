from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from astroshield.api.deps import (
    ActorDep,
    SessionDep,
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
from astroshield.spacecraft.models import OperationalMode, SpacecraftStatusReport
from astroshield.spacecraft.schemas import (
    SpacecraftCreate,
    SpacecraftRead,
    SpacecraftStatus,
    SpacecraftUpdate,
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
    """Current operational status: mode, health summary, last contact, orbit epoch."""
    # The request is the only parameter: FastAPI's parameter resolution cost more than
    # the rest of this cached read.
    principal = await authorize(request, Scope.SPACECRAFT_READ)
    spacecraft_id = path_uuid(request, "spacecraft_id")
    snapshot = await service.current_status(
        lambda: session_of(request),
        principal,
        spacecraft_id,
        cache=state_of(request).component(service.StatusCache),
    )
    return Response(snapshot.json, media_type="application/json")


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_spacecraft(
    data: SpacecraftCreate, principal: Writer, session: SessionDep, actor: ActorDep
) -> SpacecraftRead:
    created = await service.create_spacecraft(session, principal, data, actor=actor)
    return SpacecraftRead.model_validate(created)


@router.get("")
async def list_spacecraft(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    mode: Annotated[OperationalMode | None, Query(alias="status")] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> Page[SpacecraftRead]:
    """The caller's organisation's spacecraft, filtered by status and name substring."""
    rows = await service.list_spacecraft(
        session,
        principal,
        mode=mode,
        name_contains=name,
        after_id=cursor_value(page, "id", uuid.UUID),
        limit=page.limit + 1,
    )
    return make_page(rows, page, render=SpacecraftRead.model_validate, key=id_key)


@router.get("/{spacecraft_id}")
async def get_spacecraft(
    spacecraft_id: uuid.UUID, principal: Reader, session: SessionDep
) -> SpacecraftRead:
    return SpacecraftRead.model_validate(
        await service.get_spacecraft(session, principal.organisation_id, spacecraft_id)
    )


@router.patch("/{spacecraft_id}")
async def update_spacecraft(
    spacecraft_id: uuid.UUID,
    data: SpacecraftUpdate,
    principal: Writer,
    cache: StatusCacheDep,
    session: SessionDep,
    actor: ActorDep,
) -> SpacecraftRead:
    updated = await service.update_spacecraft(
        session, principal, spacecraft_id, data, cache=cache, actor=actor
    )
    return SpacecraftRead.model_validate(updated)


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
) -> StatusReportRead:
    report = await service.record_status(
        session, principal, spacecraft_id, data, cache=cache, actor=actor
    )
    return StatusReportRead.model_validate(report)


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
