from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from astroshield.api.deps import ActorDep, SessionDep, SettingsDep, require_scope
from astroshield.api.examples import example_text, text_body
from astroshield.api.middleware import media_type_of
from astroshield.api.pagination import Page, PageDep, cursor_value, make_page
from astroshield.api.schemas import UTCDatetime
from astroshield.api.side_effects import after_commit, notify_after_commit
from astroshield.api.state import state_of
from astroshield.astro.conjunction.hard_body import MAX_COMBINED_HBR_M
from astroshield.astro.conjunction.risk import Tier
from astroshield.conjunction.models import ConjunctionEvent, EventStatus
from astroshield.conjunction.schemas import (
    ApproachRead,
    AvoidanceRead,
    CdmRead,
    CdmUploadRead,
    ConjunctionEventDetail,
    ConjunctionEventRead,
    EventFilter,
    PcTrendRead,
    ScreeningCreate,
    ScreeningRead,
)
from astroshield.conjunction.service import avoidance, events, export, intake, plots
from astroshield.conjunction.service import screening_jobs as screenings
from astroshield.errors import FieldError, InvalidInputError
from astroshield.features.catalogue import Flag
from astroshield.features.gate import require_feature
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/conjunctions", tags=["conjunctions"])

# CDMs are uploaded as sent (CCSDS KVN or XML), not wrapped in JSON.
BODY_MEDIA_TYPES = {r"^/api/v1/conjunctions/cdms$": intake.KVN_MEDIA_TYPES | intake.XML_MEDIA_TYPES}
CDM_MEDIA = {"kvn": "text/plain; charset=utf-8", "xml": "application/xml"}
PNG = "image/png"

Reader = Annotated[Principal, Depends(require_scope(Scope.CONJUNCTIONS_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.CONJUNCTIONS_WRITE))]

CdmFormatQuery = Annotated[Literal["kvn", "xml"] | None, Query(alias="format")]
HbrQuery = Annotated[
    float | None,
    Query(
        gt=0,
        le=MAX_COMBINED_HBR_M,
        allow_inf_nan=False,
        description="combined hard-body radius (m) to use instead of the spacecraft's, the "
        "CDM's or the default",
    ),
]


@router.post(
    "/cdms",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "this MESSAGE_ID was stored already; nothing changed"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": text_body(
                    {"type": "string"},
                    example_text("annex_cdm.kvn"),
                    "CCSDS 508.0-B-1 annex CDM, KVN (object 12345 must be your spacecraft)",
                ),
                **{
                    media: text_body(
                        {"type": "string"},
                        example_text("annex_cdm.xml"),
                        "CCSDS 508.0-B-1 annex CDM, XML (object 12345 must be your spacecraft)",
                    )
                    for media in sorted(intake.XML_MEDIA_TYPES)
                },
            },
        }
    },
)
async def upload_cdm(
    request: Request,
    response: Response,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    hbr_m: HbrQuery = None,
) -> CdmUploadRead:
    """Store a CCSDS CDM (KVN as ``text/plain``, XML as ``application/xml``) for one of the
    organisation's spacecraft: every Pc, the event's tier, and an alert in the red tier.

    The combined hard-body radius is ``hbr_m`` when given, else the spacecraft's
    ``hard_body_radius_m`` (plus the secondary's, when it is also one of ours), else the
    CDM's (HBR/AREA_PC keywords, ``COMMENT HBR``), else the configured default (with a
    warning in ``report.issues``); ``report.hbr_source`` says which."""
    content_type = request.headers.get("content-type", "")
    media_type = media_type_of(content_type) if content_type else ""
    upload = await intake.ingest_cdm(
        session, principal, settings, await request.body(), media_type, actor=actor, hbr_m=hbr_m
    )
    if upload.duplicate:
        response.status_code = status.HTTP_200_OK
    notify_after_commit(request, upload.notifications)
    return CdmUploadRead(
        duplicate=upload.duplicate,
        event=ConjunctionEventRead.model_validate(upload.event),
        cdm=CdmRead.model_validate(upload.cdm),
        report=upload.cdm.report,
    )


def _event_key(event: ConjunctionEvent) -> dict[str, str]:
    return {"t": event.tca.isoformat(), "id": str(event.id)}


@router.get("")
async def list_conjunctions(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    tier: Tier | None = None,
    spacecraft_id: uuid.UUID | None = None,
    tca_after: UTCDatetime | None = None,
    tca_before: UTCDatetime | None = None,
    state: Annotated[EventStatus | None, Query(description="open or closed")] = None,
    event_status: Annotated[
        EventStatus | None,
        Query(alias="status", deprecated=True, description="the old name of state"),
    ] = None,
) -> Page[ConjunctionEventRead]:
    """The organisation's conjunction events by TCA, oldest first."""
    state = events.state_filter(state, event_status)
    if tca_after is not None and tca_before is not None and tca_after >= tca_before:
        raise InvalidInputError(
            "tca_after must be before tca_before",
            errors=[FieldError(["query", "tca_before"], "must be after tca_after")],
        )
    filters = EventFilter(
        tier=tier.value if tier else None,
        spacecraft_id=spacecraft_id,
        tca_after=tca_after,
        tca_before=tca_before,
        state=state.value if state else None,
    )
    after_tca = cursor_value(page, "t", datetime)
    after_id = cursor_value(page, "id", uuid.UUID)
    after = (after_tca, after_id) if after_tca and after_id else None
    rows = await events.list_events(session, principal, filters, after=after, limit=page.limit + 1)
    return make_page(rows, page, render=ConjunctionEventRead.model_validate, key=_event_key)


@router.post(
    "/screenings",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[require_feature(Flag.SCREENING_JOBS)],
)
async def request_screening(
    data: ScreeningCreate,
    request: Request,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> ScreeningRead:
    """Start a one-vs-all screening of the spacecraft against the catalog; poll
    ``GET /conjunctions/screenings/{id}`` for its status and results."""
    screening = await screenings.request_screening(session, principal, settings, data, actor=actor)
    state = state_of(request)
    organisation_id, screening_id = principal.organisation_id, screening.id

    async def start_job() -> None:
        task = asyncio.get_running_loop().create_task(
            screenings.run_screening(state.sessionmaker, organisation_id, screening_id, settings)
        )
        tasks = state.background_tasks
        tasks.add(task)  # a strong reference until it ends
        task.add_done_callback(tasks.discard)

    after_commit(request, start_job)  # the job must find its row committed
    return ScreeningRead.model_validate(screening)


@router.get("/screenings/{screening_id}")
async def get_screening(
    screening_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ScreeningRead:
    screening = await screenings.get_screening(session, principal, screening_id)
    return ScreeningRead.model_validate(screening)


@router.get("/{event_id}")
async def get_conjunction(
    event_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ConjunctionEventDetail:
    """The event with its CDMs (oldest first) and the trend of Pc over them."""
    history = await events.event_history(session, principal, event_id)
    return ConjunctionEventDetail(
        **ConjunctionEventRead.model_validate(history.event).model_dump(),
        cdms=[CdmRead.model_validate(row) for row in history.cdms],
        pc_trend=PcTrendRead(
            trend=history.trend.trend, decades_per_day=history.trend.decades_per_day
        ),
    )


@router.get(
    "/{event_id}/cdms/{cdm_id}",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}, "application/xml": {}}}},
)
async def get_cdm(
    event_id: uuid.UUID,
    cdm_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    fmt: CdmFormatQuery = None,
) -> Response:
    """The CDM as received, or re-encoded with ``format=kvn|xml``."""
    row = await events.get_cdm(session, principal, event_id, cdm_id)
    text, chosen = events.cdm_text(row, fmt)
    return Response(text, media_type=CDM_MEDIA[chosen])


@router.get(
    "/{event_id}/cdm",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}, "application/xml": {}}}},
)
async def export_cdm(
    event_id: uuid.UUID, principal: Reader, session: SessionDep, fmt: CdmFormatQuery = None
) -> Response:
    """The event as a CDM: the latest one received, or for a screening event one built from
    the catalog (SGP4 states at TCA, a default covariance stated in a COMMENT)."""
    chosen = fmt or "kvn"
    text = await export.export_cdm(session, principal, event_id, chosen)
    return Response(text, media_type=CDM_MEDIA[chosen])


@router.get(
    "/{event_id}/encounter.png",
    response_class=Response,
    responses={200: {"content": {PNG: {}}}},
)
async def encounter_plot(event_id: uuid.UUID, principal: Reader, session: SessionDep) -> Response:
    """Encounter plane of the latest CDM: combined covariance ellipses and the hard body."""
    return Response(await plots.encounter_png(session, principal, event_id), media_type=PNG)


@router.get(
    "/{event_id}/pc-history.png",
    response_class=Response,
    responses={200: {"content": {PNG: {}}}},
)
async def pc_history_plot(event_id: uuid.UUID, principal: Reader, session: SessionDep) -> Response:
    """Pc of each CDM against its creation time, with the red and yellow thresholds."""
    return Response(await plots.pc_history_png(session, principal, event_id), media_type=PNG)


@router.get("/{event_id}/avoidance")
async def get_avoidance(
    event_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    lead_time_s: Annotated[float, Query(gt=0, le=7 * 86_400)] = 5_400.0,
    direction: Literal["along_track", "radial"] = "along_track",
    max_delta_v_m_s: Annotated[float, Query(gt=0, le=100)] = 5.0,
) -> AvoidanceRead:
    """Avoidance trade for the latest CDM: the smallest impulsive Δv of our spacecraft,
    ``lead_time_s`` before TCA, that brings Pc under the red threshold."""
    trade = await avoidance.avoidance_trade(
        session,
        principal,
        event_id,
        lead_time_s=lead_time_s,
        direction=direction,
        max_delta_v_m_s=max_delta_v_m_s,
    )
    result = trade.result
    return AvoidanceRead(
        cdm_id=trade.cdm_id,
        direction=direction,
        lead_time_s=lead_time_s,
        red_pc=events.THRESHOLDS.red_pc,
        max_delta_v_m_s=max_delta_v_m_s,
        feasible=result is not None,
        delta_v_m_s=result.delta_v_m_s if result else None,
        before=ApproachRead.model_validate(trade.before, from_attributes=True),
        after=ApproachRead.model_validate(result.after, from_attributes=True) if result else None,
    )
