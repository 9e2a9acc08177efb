"""``/events/schemas``: the JSON Schema (draft 2020-12) of every domain event's envelope.
Public on purpose, like ``/openapi.json``: they describe a contract and hold no data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from astroshield.events import service
from astroshield.events.schemas import EventTypeList, EventTypePath

router = APIRouter(prefix="/events", tags=["events"])


@router.get("/schemas")
async def list_event_schemas() -> EventTypeList:
    """Every event type the service emits, its NATS subject and its schema."""
    return service.event_types(schema_base="/api/v1/events/schemas")


@router.get(
    "/schemas/{event_type}",
    response_class=JSONResponse,
    responses={
        200: {
            "content": {"application/schema+json": {"schema": {"type": "object"}}},
            "description": "the envelope's JSON Schema",
        }
    },
)
async def get_event_schema(event_type: EventTypePath) -> JSONResponse:
    """The JSON Schema of one event type's CloudEvents envelope, ``data`` included."""
    return JSONResponse(service.schema_of(event_type.value), media_type="application/schema+json")
