from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from astroshield.api.deps import SettingsDep, require_scope, session_of
from astroshield.api.pagination import MAX_ID
from astroshield.api.schemas import UTCDatetime
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.trajectory import objects, service
from astroshield.trajectory.schemas import (
    Analysis,
    AnalyzeRequest,
    Ephemeris,
    Frame,
    OutputFormat,
    PropagateRequest,
)

router = APIRouter(tags=["trajectory"])
CatalogReader = Annotated[Principal, Depends(require_scope(Scope.CATALOG_READ))]
SpacecraftReader = Annotated[Principal, Depends(require_scope(Scope.SPACECRAFT_READ))]

OEM_MEDIA_TYPE = "application/ccsds-oem"
PNG_MEDIA_TYPE = "image/png"
FormatQuery = Annotated[
    OutputFormat | None,
    Query(
        alias="format",
        description=f"oem for a CCSDS OEM (KVN); the Accept header {OEM_MEDIA_TYPE} also works",
    ),
]
_EPHEMERIS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {OEM_MEDIA_TYPE: {"schema": {"type": "string"}}}}
}


def _wants_oem(request: Request, output: OutputFormat | None) -> bool:
    if output is not None:
        return output == "oem"
    return OEM_MEDIA_TYPE in request.headers.get("accept", "")


def _render(
    request: Request, output: OutputFormat | None, states: service.States, frame: Frame
) -> Ephemeris | Response:
    if _wants_oem(request, output):
        return Response(service.ephemeris_oem(states, frame), media_type=OEM_MEDIA_TYPE)
    return service.ephemeris(states, frame)


@router.post("/trajectory/propagate", response_model=Ephemeris, responses=_EPHEMERIS_RESPONSES)
async def propagate(
    body: PropagateRequest,
    request: Request,
    settings: SettingsDep,
    principal: CatalogReader,
    output: FormatQuery = None,
) -> Ephemeris | Response:
    """Ephemeris of an element set (SGP4) or a state vector (two-body) in TEME, GCRF or ITRF.

    The element set: TLE lines, OMM fields, a ``catalog_number`` or one of your spacecraft
    (``spacecraft_id``), the last two with the newest set your organisation's analyses use
    or the one ``element_set_id`` chooses."""
    service.check_propagation(body, settings)
    resolved = None
    if body.state is None:
        resolved = await objects.resolve_source(session_of(request), principal, body)
    states = await run_in_threadpool(service.propagate_request, body, resolved)
    return await run_in_threadpool(_render, request, output, states, body.frame)


@router.get(
    "/spacecraft/{spacecraft_id}/ephemeris",
    response_model=Ephemeris,
    responses=_EPHEMERIS_RESPONSES,
)
async def spacecraft_ephemeris(
    spacecraft_id: uuid.UUID,
    request: Request,
    settings: SettingsDep,
    principal: SpacecraftReader,
    start: UTCDatetime,
    stop: UTCDatetime,
    step_s: Annotated[float, Query(gt=0, le=86_400)] = 60.0,
    frame: Frame = "GCRF",
    output: FormatQuery = None,
) -> Ephemeris | Response:
    """Ephemeris of one of the caller's spacecraft from its catalog object's element set in
    force at ``start``."""
    max_days, max_points = service.window_bounds(settings)
    service.check_window(
        start, stop, step_s, max_days=max_days, max_points=max_points, location="query"
    )
    elements = await objects.spacecraft_element_set(
        session_of(request), principal, spacecraft_id, start
    )
    times = service.sample_times(start, stop, step_s)
    states = await run_in_threadpool(service.propagate_elements, elements, times, frame)
    return await run_in_threadpool(_render, request, output, states, frame)


@router.post("/trajectory/analyze")
async def analyze(
    body: AnalyzeRequest, request: Request, settings: SettingsDep, principal: CatalogReader
) -> Analysis:
    """Orbit summary, passes over the given stations, eclipses, lifetime and ground track
    (of TLE lines, OMM fields, a ``catalog_number`` or a ``spacecraft_id``)."""
    service.check_analysis(body, settings)
    resolved = await objects.resolve_source(session_of(request), principal, body)
    return await run_in_threadpool(service.analyze, body, resolved)


_PNG_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {PNG_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}
}


@router.post(
    "/trajectory/analyze/ground-track.png", response_class=Response, responses=_PNG_RESPONSES
)
async def ground_track_png(
    body: AnalyzeRequest, request: Request, settings: SettingsDep, principal: CatalogReader
) -> Response:
    """The ground track of the same request as a PNG map."""
    service.check_analysis(body, settings)
    resolved = await objects.resolve_source(session_of(request), principal, body)
    png = await run_in_threadpool(service.ground_track_png, body, resolved)
    return Response(png, media_type=PNG_MEDIA_TYPE)


@router.get(
    "/spacecraft/{spacecraft_id}/ground-track.png",
    response_class=Response,
    responses=_PNG_RESPONSES,
)
async def spacecraft_ground_track_png(
    spacecraft_id: uuid.UUID,
    request: Request,
    settings: SettingsDep,
    principal: SpacecraftReader,
    start: Annotated[UTCDatetime | None, Query(description="default: now")] = None,
    stop: Annotated[
        UTCDatetime | None, Query(description="default: three orbital periods after start")
    ] = None,
    step_s: Annotated[float, Query(ge=1, le=3600)] = 60.0,
    element_set_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The ground track of one of your spacecraft as a PNG map, from the newest element set
    your organisation's analyses use for its catalog number (or ``element_set_id``)."""
    body, resolved = await service.spacecraft_ground_track(
        session_of(request),
        principal,
        settings,
        spacecraft_id,
        (start, stop, step_s),
        element_set_id,
    )
    png = await run_in_threadpool(service.ground_track_png, body, resolved)
    return Response(png, media_type=PNG_MEDIA_TYPE)
