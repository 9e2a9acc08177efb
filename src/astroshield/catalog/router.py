from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from astroshield.api.deps import ActorDep, SessionDep, authorize, require_scope
from astroshield.api.examples import ISS_OMM_JSON, example_text, text_body
from astroshield.api.middleware import media_type_of
from astroshield.api.pagination import (
    MAX_ID,
    Page,
    PageDep,
    PageRequest,
    cursor_value,
    make_page,
)
from astroshield.api.schemas import UTCDatetime
from astroshield.astro.dynamics.orbit import Regime
from astroshield.catalog import service
from astroshield.catalog.formats import PROBLEMS_SHOWN, UPLOAD_MEDIA_TYPES
from astroshield.catalog.models import ElementSetRecord
from astroshield.catalog.schemas import (
    CatalogNumberPath,
    CatalogObjectDetail,
    CatalogObjectRead,
    ElementSetRead,
    ImportReport,
    LatestElementSet,
    LinkedSpacecraft,
    OverlayElementSetRead,
    RejectionRead,
    UploadProblemRead,
)
from astroshield.errors import FieldError, InvalidInputError
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/catalog", tags=["catalog"])
# Platform administrators decide what the shared catalog holds for every organisation.
CATALOG_ADMIN_SCOPE = Scope.CATALOG_ADMIN
Reader = Annotated[Principal, Depends(require_scope(Scope.CATALOG_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.CATALOG_WRITE))]
CatalogAdmin = Annotated[Principal, Depends(require_scope(CATALOG_ADMIN_SCOPE))]

ELEMENT_SETS_PATH = "/element-sets"
# For RequestGuardMiddleware: the upload path also reads TLE text, XML and CSV bodies.
UPLOAD_MEDIA_TYPES_BY_PATH = {rf"^/api/v1/catalog{ELEMENT_SETS_PATH}$": UPLOAD_MEDIA_TYPES}


def _check_window(start: datetime | None, stop: datetime | None) -> None:
    if start is not None and stop is not None and start > stop:
        raise InvalidInputError(
            "start must not be after stop",
            errors=[FieldError(["query", "stop"], "must not be before start")],
        )


def _catalog_number_after(page: PageRequest) -> str | None:
    if page.cursor is None:
        return None
    return service.parse_catalog_number(page.cursor.get("n", ""), ["query", "cursor"])


def _object_key(row: service.ObjectSummary) -> dict[str, str]:
    return {"n": row.catalog_number}


def _element_set_key(row: ElementSetRecord) -> dict[str, str]:
    return {"t": row.epoch.isoformat(), "i": str(row.id)}


def _element_set_after(page: PageRequest) -> tuple[datetime, int | None] | None:
    epoch = cursor_value(page, "t", datetime)
    if epoch is None or page.cursor is None:
        return None
    if "i" not in page.cursor:
        return epoch, None  # a cursor without an id: everything after that epoch
    return epoch, cursor_value(page, "i", int)


def _element_set(record: ElementSetRecord) -> ElementSetRead:
    """The set as its reader may see it: who uploaded it only on the reader's own overlay
    (a public set's uploader may be another organisation's user)."""
    read = ElementSetRead.model_validate(record)
    if not record.overlay:
        read.uploaded_by = None
    return read


@router.get("/objects")
async def list_objects(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="catalog number (Alpha-5 too), COSPAR id prefix or part of the name",
        ),
    ] = None,
    regime: Regime | None = None,
    min_perigee_km: Annotated[float | None, Query(ge=-7000, le=1e7)] = None,
    max_apogee_km: Annotated[float | None, Query(ge=-7000, le=1e7)] = None,
    min_inclination: Annotated[float | None, Query(ge=0, le=180, description="deg")] = None,
    max_inclination: Annotated[float | None, Query(ge=0, le=180, description="deg")] = None,
) -> Page[CatalogObjectRead]:
    """Search the catalog, in catalog-number order: public objects (summarised from public
    sets only) and objects only your organisation's uploads know (``overlay``)."""
    filters = service.search_filter(
        q,
        regime=regime,
        min_perigee_km=min_perigee_km,
        max_apogee_km=max_apogee_km,
        min_inclination_deg=min_inclination,
        max_inclination_deg=max_inclination,
    )
    rows = await service.search_objects(
        session, principal, filters, after=_catalog_number_after(page), limit=page.limit + 1
    )
    return make_page(rows, page, render=CatalogObjectRead.model_validate, key=_object_key)


@router.get("/objects/{catalog_number}")
async def get_object(
    catalog_number: CatalogNumberPath, principal: Reader, session: SessionDep
) -> CatalogObjectDetail:
    """The object, the newest element set your analyses use (also as TLE lines and OMM
    fields; your organisation's overlay when it takes precedence, see ``provenance`` and
    ``overlay``), how many sets you can see, and your organisation's spacecraft registered
    under this catalog number."""
    number = service.parse_catalog_number(catalog_number, ["path", "catalog_number"])
    detail = await service.object_detail(session, principal, number)
    latest: LatestElementSet | None = None
    if detail.latest is not None:
        elements = service.to_element_set(detail.latest)
        tle = service.tle_of(elements)
        latest = LatestElementSet(
            **_element_set(detail.latest).model_dump(),
            tle_line1=tle.line1 if tle else None,
            tle_line2=tle.line2 if tle else None,
            omm=service.omm_fields_of(elements),
        )
    return CatalogObjectDetail(
        **CatalogObjectRead.model_validate(detail.catalog_object).model_dump(),
        latest_element_set=latest,
        element_set_count=detail.element_set_count,
        spacecraft=[LinkedSpacecraft.model_validate(item) for item in detail.spacecraft],
    )


@router.get("/objects/{catalog_number}/element-sets")
async def list_element_sets(
    catalog_number: CatalogNumberPath,
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    start: UTCDatetime | None = None,
    stop: UTCDatetime | None = None,
) -> Page[ElementSetRead]:
    """The object's element-set history, oldest first, ``start <= epoch <= stop``: public
    sets and your organisation's own uploads (``overlay``), which may share an epoch."""
    number = service.parse_catalog_number(catalog_number, ["path", "catalog_number"])
    _check_window(start, stop)
    rows = await service.element_set_history(
        session,
        principal,
        number,
        start=start,
        stop=stop,
        after=_element_set_after(page),
        limit=page.limit + 1,
    )
    return make_page(rows, page, render=_element_set, key=_element_set_key)


@router.post(
    ELEMENT_SETS_PATH,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": text_body(
                    {"type": "string"}, example_text("iss.tle"), "ISS as a 3-line TLE"
                ),
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"type": "array", "items": {"type": "object"}},
                            {"type": "object"},
                        ]
                    },
                    "example": ISS_OMM_JSON,
                },
                "application/xml": text_body(
                    {"type": "string"}, example_text("iss_omm.xml"), "ISS as CCSDS OMM XML"
                ),
                "text/xml": text_body(
                    {"type": "string"}, example_text("iss_omm.xml"), "ISS as CCSDS OMM XML"
                ),
                "text/csv": text_body(
                    {"type": "string"}, example_text("iss_omm.csv"), "ISS as CelesTrak OMM CSV"
                ),
            },
        }
    },
)
async def upload_element_sets(
    request: Request,
    principal: Writer,
    session: SessionDep,
    actor: ActorDep,
    public: Annotated[
        bool,
        Query(
            description="platform administrators: import into the public catalog "
            "(provenance platform) instead of your organisation's overlay"
        ),
    ] = False,
    strict: Annotated[
        bool,
        Query(description="refuse the whole body (422) at its first unreadable element set"),
    ] = False,
) -> ImportReport:
    """Import TLEs (``text/plain``, 2- or 3-line; KVN OMM also), OMM JSON, XML or CSV.

    The sets become your organisation's overlay (provenance ``organisation``): used in your
    organisation's analyses, invisible to every other organisation unless a platform
    administrator publishes them. An element set that cannot be read (or stored) is
    skipped: ``skipped`` counts them and ``problems`` names the first 20 (line, field,
    why); the readable ones are imported (200). A body with no usable set is refused (422
    naming the first bad lines and fields), as is any bad set with ``strict=true``. Sets
    already stored (same catalog number and epoch, in your overlay or, with ``public``, in
    the public catalog) are counted, not duplicated.
    """
    if public:
        await authorize(request, CATALOG_ADMIN_SCOPE)
    content_type = request.headers.get("content-type", "")
    media_type = media_type_of(content_type) if content_type else ""
    result = await service.import_upload(
        session,
        principal,
        await request.body(),
        media_type,
        public=public,
        actor=actor,
        strict=strict,
    )
    return ImportReport(
        received=result.received,
        inserted=result.inserted,
        already_present=result.already_present,
        rejected=[RejectionRead(where=r.where, reason=r.reason) for r in result.rejected],
        skipped=len(result.skipped),
        problems=[
            UploadProblemRead(line=p.line, where=p.where, field=p.field, reason=p.reason)
            for p in result.skipped[:PROBLEMS_SHOWN]
        ],
    )


@router.post(ELEMENT_SETS_PATH + "/{set_id}/publish")
async def publish_element_set(
    set_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    principal: CatalogAdmin,
    session: SessionDep,
    actor: ActorDep,
) -> ElementSetRead:
    """Platform administrators: make an organisation's uploaded set public, so every
    organisation sees and uses it (audited). 409 when it is public already or the public
    catalog holds a set of the object at the same epoch."""
    published = await service.publish_element_set(session, principal, set_id, actor=actor)
    return _element_set(published)


@router.get("/overlays")
async def list_overlay_element_sets(
    principal: CatalogAdmin,
    session: SessionDep,
    page: PageDep,
    catalog_number: Annotated[str | None, Query(min_length=1, max_length=9)] = None,
    organisation_id: uuid.UUID | None = None,
) -> Page[OverlayElementSetRead]:
    """Platform administrators: every organisation's unpublished uploads, newest first,
    for review before publishing."""
    number = (
        None
        if catalog_number is None
        else service.parse_catalog_number(catalog_number, ["query", "catalog_number"])
    )
    rows = await service.overlay_sets_for_review(
        session,
        principal,
        catalog_number=number,
        organisation_id=organisation_id,
        after_id=cursor_value(page, "id", int),
        limit=page.limit + 1,
    )
    return make_page(
        rows,
        page,
        render=OverlayElementSetRead.model_validate,
        key=lambda row: {"id": str(row.id)},
    )
