from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from astroshield.api.schemas import RequestModel, ResponseModel, UTCDatetime, not_in_future
from astroshield.astro.ids import normalize_catalog_number, normalize_cospar_id
from astroshield.spacecraft.models import MAX_HARD_BODY_RADIUS_M, HealthState, OperationalMode

CatalogNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=9,
        description="NORAD catalog number: 1-9 digits or Alpha-5 (e.g. 25544, A0001); "
        "stored in canonical decimal form",
        examples=["25544"],
    ),
    AfterValidator(normalize_catalog_number),
]
CosparId = Annotated[
    str,
    Field(
        min_length=6, max_length=12, description="COSPAR id, e.g. 1998-067A", examples=["1998-067A"]
    ),
    AfterValidator(normalize_cospar_id),
]
PastTimestamp = Annotated[UTCDatetime, AfterValidator(not_in_future)]
Name = Annotated[str, Field(min_length=1, max_length=128)]
Description = Annotated[str, Field(max_length=2000)]
HardBodyRadius = Annotated[
    float,
    Field(
        gt=0,
        le=MAX_HARD_BODY_RADIUS_M,
        allow_inf_nan=False,
        strict=True,
        description="radius (m) of the sphere enclosing the spacecraft, used for its "
        "conjunctions' collision probability (summed with a registered secondary's radius)",
        examples=[5.0],
    ),
]


class SpacecraftCreate(RequestModel):
    """The owning organisation is the caller's; it is not a field a client can set."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "SATELLITE A",
                    "catalog_number": "12345",
                    "cospar_id": "1997-030E",
                    "description": "Object 1 of the CCSDS annex CDM (register it first)",
                }
            ]
        }
    )

    name: Name
    catalog_number: CatalogNumber | None = None
    cospar_id: CosparId | None = None
    description: Description | None = None
    hard_body_radius_m: HardBodyRadius | None = None


class SpacecraftUpdate(RequestModel):
    """Partial update: only the fields sent are changed; ``null`` clears an optional field."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"description": "Earth observation, 700 km sun-synchronous; prime contact Svalbard"}
            ]
        }
    )

    name: Name | None = None
    catalog_number: CatalogNumber | None = None
    cospar_id: CosparId | None = None
    description: Description | None = None
    hard_body_radius_m: HardBodyRadius | None = None


class SpacecraftRead(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
                    "organisation_id": "0193a5e1-1f0a-7b2c-8d3e-4f5a6b7c8d9e",
                    "name": "SATELLITE A",
                    "catalog_number": "12345",
                    "cospar_id": "1997-030E",
                    "description": "Object 1 of the CCSDS annex CDM (register it first)",
                    "mode": "operational",
                    "health": "nominal",
                    "created_at": "2026-12-01T07:00:00Z",
                    "updated_at": "2026-12-01T08:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    catalog_number: str | None
    cospar_id: str | None
    description: str | None
    hard_body_radius_m: float | None
    mode: OperationalMode
    health: HealthState
    created_at: datetime
    updated_at: datetime


class StatusReportCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reported_at": "2026-12-01T08:00:00Z",
                    "mode": "operational",
                    "health": "nominal",
                    "health_summary": "all subsystems nominal after the Svalbard pass",
                    "last_contact_at": "2026-12-01T07:55:00Z",
                    "orbit_epoch": "2026-12-01T06:00:00Z",
                }
            ]
        }
    )

    reported_at: PastTimestamp
    mode: OperationalMode
    health: HealthState
    health_summary: Annotated[str, Field(max_length=500)] | None = None
    last_contact_at: PastTimestamp | None = None
    orbit_epoch: UTCDatetime | None = None


class StatusReportRead(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a5e4-3b2c-7d4e-9f50-6b7c8d9e0f1a",
                    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
                    "reported_at": "2026-12-01T08:00:00Z",
                    "mode": "operational",
                    "health": "nominal",
                    "health_summary": "all subsystems nominal after the Svalbard pass",
                    "last_contact_at": "2026-12-01T07:55:00Z",
                    "orbit_epoch": "2026-12-01T06:00:00Z",
                    "source": "api",
                }
            ]
        }
    )

    id: uuid.UUID
    spacecraft_id: uuid.UUID
    reported_at: datetime
    mode: OperationalMode
    health: HealthState
    health_summary: str | None
    last_contact_at: datetime | None
    orbit_epoch: datetime | None
    source: str


class SpacecraftStatus(ResponseModel):
    """Current operational status: the latest report, or ``unknown`` before the first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
                    "name": "SATELLITE A",
                    "mode": "operational",
                    "health": "nominal",
                    "health_summary": "all subsystems nominal after the Svalbard pass",
                    "last_contact_at": "2026-12-01T07:55:01Z",
                    "orbit_epoch": "2026-12-01T06:00:00Z",
                    "reported_at": "2026-12-01T08:00:00Z",
                }
            ]
        }
    )

    spacecraft_id: uuid.UUID
    name: str
    mode: OperationalMode
    health: HealthState
    health_summary: str | None
    last_contact_at: datetime | None
    orbit_epoch: datetime | None
    reported_at: datetime | None
