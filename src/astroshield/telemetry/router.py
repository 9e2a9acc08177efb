"""Telemetry HTTP API: dictionary, ingest (JSON and CCSDS packets), queries, export."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from astroshield.api.deps import ActorDep, SessionDep, SettingsDep, require_scope
from astroshield.api.examples import text_body
from astroshield.api.json_body import decode_json_body
from astroshield.api.pagination import PageDep
from astroshield.api.schemas import UTCDatetime
from astroshield.api.side_effects import after_commit, notify_after_commit
from astroshield.api.state import state_of
from astroshield.db import utcnow
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.spacecraft.service import StatusCache
from astroshield.telemetry import definitions, dictionary, ingest, queries
from astroshield.telemetry.export import export_csv, export_parameters, export_parquet
from astroshield.telemetry.live import LiveHub
from astroshield.telemetry.schemas import (
    BucketSeries,
    ExportFormat,
    IngestResult,
    LatestValue,
    ParameterRead,
    ParameterWrite,
    SamplePage,
    SortOrder,
)
from astroshield.tm.demo import DEMO_XTCE_PATH

router = APIRouter(prefix="/spacecraft/{spacecraft_id}/telemetry", tags=["telemetry"])
Reader = Annotated[Principal, Depends(require_scope(Scope.TELEMETRY_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.TELEMETRY_WRITE))]

# The JSON batch route reads its body itself (with the body guard's own function).
HANDLER_CHECKED_JSON = (r"^/api/v1/spacecraft/[^/]+/telemetry$",)
# Request bodies other than JSON that the body guard must let through (path regex -> types).
BODY_MEDIA_TYPES = {
    r"^/api/v1/spacecraft/[^/]+/telemetry/packets$": frozenset({"application/octet-stream"}),
    r"^/api/v1/spacecraft/[^/]+/telemetry/dictionary$": frozenset(
        {"application/xml", "text/xml", "application/xtce+xml"}
    ),
}
_INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestResult, "description": "a retry: the batch was stored before"},
    201: {"model": IngestResult, "description": "the batch was stored"},
    413: {"description": "body larger than the request body limit"},
    422: {"description": "problem+json listing every bad sample; nothing was stored"},
    503: {"description": "ingest saturated; retry after Retry-After seconds"},
}
_BATCH_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["samples"],
                    "properties": {
                        "source_id": {"type": "string", "maxLength": 128},
                        "sequence": {"type": "integer", "minimum": 0},
                        "samples": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["parameter", "time", "value"],
                                "properties": {
                                    "parameter": {"type": "string"},
                                    "time": {"type": "string", "format": "date-time"},
                                    "value": {"type": ["number", "integer", "boolean", "string"]},
                                },
                            },
                        },
                    },
                },
                # Parameters of the demo spacecraft's dictionary (tm/data, PUT .../dictionary).
                "example": {
                    "source_id": "ground-station-svalbard",
                    "sequence": 1,
                    "samples": [
                        {"parameter": "BATT_V", "time": "2026-12-01T07:55:00Z", "value": 28.1},
                        {"parameter": "BATT_V", "time": "2026-12-01T07:55:01Z", "value": 28.0},
                        {"parameter": "MODE", "time": "2026-12-01T07:55:00Z", "value": 1},
                    ],
                },
            }
        },
    }
}
PartialQuery = Annotated[
    bool,
    Query(
        description="store the valid samples and list the invalid ones in `rejected` "
        "instead of refusing the whole batch"
    ),
]


def _ingest_gate(request: Request) -> ingest.IngestGate:
    gate: ingest.IngestGate | None = getattr(state_of(request), "telemetry_ingest_gate", None)
    if gate is None:
        gate = ingest.IngestGate(state_of(request).settings.telemetry_ingest_concurrency)
        state_of(request).telemetry_ingest_gate = gate
    return gate


def _decode_json(body: bytes) -> Any:
    # Literal NaN/Infinity is not JSON, but some clients send it; it is read so the sample
    # can be named in the answer rather than the whole body refused. The batch's shape is
    # checked sample by sample without recursing into values, so the body is not walked
    # for its depth (that would cost a tenth of the ingest).
    return decode_json_body(body, non_finite_numbers=True, max_depth=None)


def _answer(request: Request, principal: Principal, outcome: ingest.IngestOutcome) -> Response:
    if outcome.created:
        notify_after_commit(request, outcome.notifications)
        state_of(request).component(StatusCache).invalidate(
            (principal.organisation_id, uuid.UUID(request.path_params["spacecraft_id"]))
        )
        if outcome.samples is not None or outcome.alarm_messages:
            spacecraft_id = uuid.UUID(request.path_params["spacecraft_id"])
            hub = state_of(request).component(LiveHub)

            async def publish() -> None:
                listening = hub.listening(spacecraft_id)
                for message in outcome.alarm_messages:
                    hub.publish(spacecraft_id, message)
                if listening:
                    for message in outcome.sample_messages():
                        hub.publish(spacecraft_id, message)

            after_commit(request, publish)
    return Response(
        orjson.dumps(outcome.result.model_dump(mode="json")),
        status_code=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.get("/parameters")
async def list_parameters(
    spacecraft_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[ParameterRead]:
    return await dictionary.list_parameters(session, principal, spacecraft_id)


@router.put("/parameters")
async def put_parameters(
    spacecraft_id: uuid.UUID,
    items: Annotated[
        list[ParameterWrite],
        Body(
            max_length=10_000,
            examples=[
                [
                    {
                        "name": "BATT_V",
                        "type": "float",
                        "unit": "V",
                        "valid_min": 0,
                        "valid_max": 40,
                    },
                    {"name": "MODE", "type": "enum", "enum_labels": {"0": "SAFE", "1": "NOMINAL"}},
                ]
            ],
        ),
    ],
    principal: Writer,
    session: SessionDep,
    actor: ActorDep,
) -> list[ParameterRead]:
    """Create or update parameters by name; parameters not listed are kept with their
    archive. Returns the whole dictionary."""
    return await dictionary.upsert_parameters(session, principal, spacecraft_id, items, actor=actor)


@router.put(
    "/dictionary",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: text_body(
                    {"type": "string"},
                    DEMO_XTCE_PATH.read_text(encoding="utf-8"),
                    "XTCE 1.2 definition of the demo spacecraft ASTRODEMO (two packets)",
                )
                for media in ("application/xml", "text/xml", "application/xtce+xml")
            },
        }
    },
)
async def put_dictionary(
    spacecraft_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    actor: ActorDep,
) -> list[ParameterRead]:
    """Upload the spacecraft's XTCE definition: its parameters join the dictionary and
    packets posted to .../telemetry/packets are decoded with it. Parameters whose
    definition has default alarm ranges get a limit set from them unless they already
    have one."""
    document = await request.body()
    return await definitions.import_definition(
        session, principal, spacecraft_id, document, utcnow(), actor=actor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IngestResult,
    responses=_INGEST_RESPONSES,
    openapi_extra=_BATCH_BODY_SCHEMA,
)
async def ingest_samples(
    spacecraft_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    partial: PartialQuery = False,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """Store a batch of samples once: a retry with the same source_id and sequence (or
    Idempotency-Key) gets the first answer again, with 200 instead of 201."""
    gate = _ingest_gate(request)
    gate.enter()
    try:
        payload = await request.body()
        body = ingest.check_batch_body(_decode_json(payload))
        key = ingest.batch_key(
            source_id=body.get("source_id"),
            sequence=body.get("sequence"),
            idempotency_key=idempotency_key,
            locations=(["body", "source_id"], ["body", "sequence"]),
        )
        outcome = await ingest.ingest_samples(
            session,
            principal,
            spacecraft_id,
            key,
            payload,
            body["samples"],
            partial=partial,
            settings=settings,
            now=utcnow(),
        )
    finally:
        gate.leave()
    return _answer(request, principal, outcome)


@router.post(
    "/packets",
    status_code=status.HTTP_201_CREATED,
    response_model=IngestResult,
    responses=_INGEST_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "CCSDS space packets (133.0-B-2) as raw bytes, concatenated, e.g. "
            "`curl --data-binary @packets.bin -H 'Content-Type: application/octet-stream'`; "
            "decoded with the XTCE definition uploaded to `PUT .../telemetry/dictionary`",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def ingest_packets(
    spacecraft_id: uuid.UUID,
    request: Request,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    partial: PartialQuery = False,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    x_source_id: Annotated[str | None, Header(max_length=128)] = None,
    x_sequence: Annotated[int | None, Header(ge=0)] = None,
) -> Response:
    """CCSDS space packets, concatenated, decoded with the spacecraft's XTCE definition.
    Parameters the archive cannot hold (strings) are skipped."""
    gate = _ingest_gate(request)
    gate.enter()
    try:
        key = ingest.batch_key(
            source_id=x_source_id,
            sequence=x_sequence,
            idempotency_key=idempotency_key,
            locations=(["header", "X-Source-Id"], ["header", "X-Sequence"]),
        )
        payload = await request.body()
        outcome = await ingest.ingest_packets(
            session,
            principal,
            spacecraft_id,
            key,
            payload,
            partial=partial,
            settings=settings,
            now=utcnow(),
        )
    finally:
        gate.leave()
    return _answer(request, principal, outcome)


@router.get("/latest")
async def latest(
    spacecraft_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[LatestValue]:
    """The newest sample of every parameter (null when it has none)."""
    return await queries.latest(session, principal, spacecraft_id)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
            "description": "columns parameter, time, value; ordered by parameter then time",
        }
    },
)
async def export(
    spacecraft_id: uuid.UUID,
    request: Request,
    principal: Reader,
    session: SessionDep,
    parameters: Annotated[str, Query(min_length=1, max_length=4000, examples=["a,b"])],
    start: UTCDatetime,
    stop: UTCDatetime,
    format: ExportFormat = "csv",
) -> StreamingResponse:
    """Raw samples of the listed parameters in [start, stop), streamed."""
    queries.check_window(start, stop)
    names = list(dict.fromkeys(n.strip() for n in parameters.split(",") if n.strip()))
    selected = await export_parameters(session, principal, spacecraft_id, names)
    sessionmaker = state_of(request).sessionmaker
    filename = f"telemetry-{spacecraft_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "parquet":
        return StreamingResponse(
            export_parquet(sessionmaker, selected, start, stop, spacecraft_id),
            media_type="application/vnd.apache.parquet",
            headers=headers,
        )
    return StreamingResponse(
        export_csv(sessionmaker, selected, start, stop, spacecraft_id),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )


@router.get("/{parameter}/samples")
async def sample_buckets(
    spacecraft_id: uuid.UUID,
    parameter: str,
    principal: Reader,
    session: SessionDep,
    start: Annotated[UTCDatetime | None, Query(description="default: 24 h before `stop`")] = None,
    stop: Annotated[UTCDatetime | None, Query(description="default: now")] = None,
    count: Annotated[
        int, Query(ge=1, le=queries.MAX_BUCKETS, description="number of equal buckets")
    ] = 500,
) -> BucketSeries:
    """[start, stop) cut into `count` equal buckets, each with min/max/avg/count of the
    samples in it; an empty bucket has count 0 and nulls (a gap to draw).

    Without `start` and `stop` the window is the last 24 h ending now, as a console shows
    it: a spacecraft that went silent shows its silence as empty buckets rather than a
    window slid back to its last sample. `stop` alone gives the 24 h before it; `start`
    alone runs to now. `start` must be before `stop`."""
    window_start, window_stop = queries.samples_window(start, stop, now=utcnow())
    return await queries.buckets(
        session,
        principal,
        spacecraft_id,
        parameter,
        start=window_start,
        stop=window_stop,
        count=count,
    )


@router.get("/{parameter}")
async def raw_samples(
    spacecraft_id: uuid.UUID,
    parameter: str,
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    start: UTCDatetime | None = None,
    stop: UTCDatetime | None = None,
    order: SortOrder = "asc",
) -> SamplePage:
    """Raw samples in time order, each with its limit state; page with next_cursor."""
    queries.check_window(start, stop)
    return await queries.raw_samples(
        session,
        principal,
        spacecraft_id,
        parameter,
        page,
        start=start,
        stop=stop,
        descending=order == "desc",
    )
