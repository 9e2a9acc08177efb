from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, JsonValue

from astroshield.api.schemas import RequestModel, ResponseModel, UTCDatetime, not_in_future
from astroshield.astro.ids import normalize_catalog_number, normalize_cospar_id
from astroshield.spacecraft.health import ContactState, HealthSource
from astroshield.spacecraft.models import MAX_HARD_BODY_RADIUS_M, HealthState, OperationalMode
from astroshield.tm.limits import Level

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
OVERRIDE_MAX_DAYS = 30


def _override_expiry(value: datetime) -> datetime:
    now = datetime.now(UTC)
    if value <= now:
        raise ValueError("must be in the future")
    if value > now + timedelta(days=OVERRIDE_MAX_DAYS):
        raise ValueError(f"must be at most {OVERRIDE_MAX_DAYS} days ahead")
    return value


OverrideExpiry = Annotated[
    UTCDatetime,
    AfterValidator(_override_expiry),
    Field(
        description=f"when the override ends: a future UTC time at most {OVERRIDE_MAX_DAYS} "
        "days ahead"
    ),
]
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
                    "health_source": "telemetry",
                    "last_contact_at": "2026-12-01T07:55:01Z",
                    "contact": "current",
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
    health: HealthState = Field(description="the health in force now (see health_source)")
    health_source: HealthSource = Field(
        description="where the health comes from: an operator override, the open telemetry "
        "limit alarms, the latest report, or none (unknown)"
    )
    last_contact_at: datetime | None = Field(
        description="newest of the latest telemetry sample and the reports' last contact"
    )
    contact: ContactState = Field(
        description="stale when the last contact is older than the configured limit "
        "(ASTROSHIELD_SPACECRAFT_CONTACT_STALE_S); never shown in the health"
    )
    created_at: datetime
    updated_at: datetime


class StatusOverride(RequestModel):
    """An operator's health that holds until ``expires_at`` whatever the alarms say."""

    reason: Annotated[str, Field(min_length=1, max_length=500, examples=["battery swap test"])]
    expires_at: OverrideExpiry


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
                },
                {
                    "reported_at": "2026-12-01T08:00:00Z",
                    "mode": "operational",
                    "health": "nominal",
                    "health_summary": "battery heater test, the undervoltage is expected",
                    "override": {
                        "reason": "battery heater test until 10:00; BATT_V alarm expected",
                        "expires_at": "2026-12-01T10:00:00Z",
                    },
                },
            ]
        }
    )

    reported_at: PastTimestamp
    mode: OperationalMode
    health: HealthState = Field(
        description="with ``override``: the health in force until it expires; without: used "
        "only while no telemetry limits drive the health (recorded in the history either way)"
    )
    health_summary: Annotated[str, Field(max_length=500)] | None = None
    last_contact_at: PastTimestamp | None = None
    orbit_epoch: UTCDatetime | None = None
    override: StatusOverride | None = None


_REPORT_EXAMPLE: dict[str, JsonValue] = {
    "id": "0193a5e4-3b2c-7d4e-9f50-6b7c8d9e0f1a",
    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
    "reported_at": "2026-12-01T08:00:00Z",
    "mode": "operational",
    "health": "nominal",
    "health_summary": "all subsystems nominal after the Svalbard pass",
    "last_contact_at": "2026-12-01T07:55:00Z",
    "orbit_epoch": "2026-12-01T06:00:00Z",
    "source": "report",
    "reason": None,
}


class StatusReportRead(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _REPORT_EXAMPLE,
                {
                    "id": "0193a5e4-3b2c-7d4e-9f50-6b7c8d9e0f1b",
                    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
                    "reported_at": "2026-12-01T08:12:30Z",
                    "mode": "operational",
                    "health": "critical",
                    "health_summary": None,
                    "last_contact_at": None,
                    "orbit_epoch": None,
                    "source": "telemetry",
                    "reason": "BATT_V critical",
                },
            ]
        }
    )

    id: uuid.UUID
    spacecraft_id: uuid.UUID
    reported_at: datetime = Field(
        description="when the report was made, or when the health changed (telemetry, "
        "override cleared or expired)"
    )
    mode: OperationalMode
    health: HealthState
    health_summary: str | None
    last_contact_at: datetime | None
    orbit_epoch: datetime | None
    source: str = Field(
        description="report, override, override-cleared, override-expired or telemetry"
    )
    reason: str | None = Field(
        description="the override's reason, or the alarms behind a telemetry health change"
    )


class StatusReportAccepted(StatusReportRead):
    """The stored report, and the health in force after it: a plain report's health does
    not replace a health that telemetry drives (``health_source`` says which)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_REPORT_EXAMPLE, "current_health": "degraded", "health_source": "telemetry"}
            ]
        }
    )

    current_health: HealthState = Field(description="the health in force after this report")
    health_source: HealthSource


class HealthReason(ResponseModel):
    """An open telemetry limit alarm behind a derived health."""

    parameter: str
    level: Level
    alert_id: uuid.UUID


class OverrideRead(ResponseModel):
    reason: str
    expires_at: datetime
    set_by: str | None = Field(description="the id of the user who set it")
    set_at: datetime


class SpacecraftStatus(ResponseModel):
    """Current operational status. The mode, summary and orbit epoch are the latest
    report's; the health is an unexpired override's, else derived from the open telemetry
    limit alarms once a parameter with limits has had a sample, else the latest report's,
    else ``unknown``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
                    "name": "SATELLITE A",
                    "mode": "operational",
                    "health": "degraded",
                    "health_source": "telemetry",
                    "health_reasons": [
                        {
                            "parameter": "BATT_V",
                            "level": "warning",
                            "alert_id": "0193a5e6-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
                        }
                    ],
                    "override": None,
                    "health_summary": "all subsystems nominal after the Svalbard pass",
                    "last_contact_at": "2026-12-01T07:55:01Z",
                    "contact": "current",
                    "orbit_epoch": "2026-12-01T06:00:00Z",
                    "reported_at": "2026-12-01T08:00:00Z",
                },
                {
                    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
                    "name": "SATELLITE A",
                    "mode": "operational",
                    "health": "nominal",
                    "health_source": "override",
                    "health_reasons": [],
                    "override": {
                        "reason": "battery heater test until 10:00; BATT_V alarm expected",
                        "expires_at": "2026-12-01T10:00:00Z",
                        "set_by": "0193a5e1-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
                        "set_at": "2026-12-01T08:00:02Z",
                    },
                    "health_summary": "battery heater test, the undervoltage is expected",
                    "last_contact_at": "2026-12-01T07:55:01Z",
                    "contact": "current",
                    "orbit_epoch": "2026-12-01T06:00:00Z",
                    "reported_at": "2026-12-01T08:00:00Z",
                },
            ]
        }
    )

    spacecraft_id: uuid.UUID
    name: str
    mode: OperationalMode
    health: HealthState
    health_source: HealthSource
    health_reasons: list[HealthReason] = Field(
        description="the open telemetry limit alarms behind a health derived from telemetry "
        "(empty for any other source)"
    )
    override: OverrideRead | None = Field(description="the operator override in force")
    health_summary: str | None
    last_contact_at: datetime | None
    contact: ContactState
    orbit_epoch: datetime | None
    reported_at: datetime | None
