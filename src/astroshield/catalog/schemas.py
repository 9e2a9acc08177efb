from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import ConfigDict, Field

from astroshield.api.schemas import ResponseModel
from astroshield.astro.dynamics.orbit import Regime
from astroshield.catalog.models import Provenance
from astroshield.spacecraft.models import HealthState, OperationalMode

# A catalog number in a path, for every domain's routes (validated further by
# :func:`astroshield.catalog.service.parse_catalog_number`).
CatalogNumberPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=9,
        description="NORAD catalog number: 1-9 digits or Alpha-5 (A0001)",
        examples=["25544"],
    ),
]


class CatalogObjectRead(ResponseModel):
    catalog_number: str = Field(description="canonical decimal form (A0001 is 100001)")
    object_id: str | None = Field(description="COSPAR international designator")
    name: str | None
    object_type: str | None = Field(
        description="ROCKET BODY or DEBRIS when the catalog name says so, else null"
    )
    overlay: bool = Field(
        description="true when only your organisation's uploads know this object: its "
        "summary comes from your newest overlay set (otherwise from public sets only)"
    )
    epoch: datetime = Field(description="epoch of the newest element set summarised")
    regime: Regime
    perigee_altitude_km: float
    apogee_altitude_km: float
    inclination_deg: float
    period_min: float
    created_at: datetime
    updated_at: datetime


class ElementSetRead(ResponseModel):
    """SGP4 mean elements in TLE/OMM units (mean motion derivatives already divided by 2
    and 6, as written in a TLE), and where the set came from."""

    id: int | None = Field(
        description="the set's id: choose it for an analysis (``element_set_id`` of "
        "POST /trajectory/propagate and /analyze) or, on your overlay, to have it published"
    )
    catalog_number: str
    epoch: datetime
    object_name: str | None
    object_id: str | None
    classification: str
    mean_motion_rev_per_day: float
    eccentricity: float
    inclination_deg: float
    ra_of_asc_node_deg: float
    arg_of_pericenter_deg: float
    mean_anomaly_deg: float
    bstar_per_earth_radius: float
    mean_motion_dot_rev_per_day2: float
    mean_motion_ddot_rev_per_day3: float
    ephemeris_type: int
    element_set_number: int
    rev_at_epoch: int
    source: str = Field(description="the file or upload the set was read from")
    provenance: Provenance = Field(
        description="feed (trusted automated feed), platform (platform import) or "
        "organisation (an organisation's upload)"
    )
    overlay: bool = Field(
        description="true: your organisation's own upload, seen by your organisation only; "
        "false: public"
    )
    uploaded_by: str | None = Field(
        description="who sent it (user id, cli or system) for your own overlay sets, else null"
    )
    published_at: datetime | None = Field(
        description="when a platform administrator made an organisation's upload public"
    )
    imported_at: datetime


class LatestElementSet(ElementSetRead):
    tle_line1: str | None = Field(
        description="TLE lines (TLE field precision); null above Alpha-5's range"
    )
    tle_line2: str | None
    omm: dict[str, Any] = Field(description="the set as CelesTrak GP JSON (OMM keywords)")


class LinkedSpacecraft(ResponseModel):
    id: uuid.UUID
    name: str
    mode: OperationalMode
    health: HealthState


class CatalogObjectDetail(CatalogObjectRead):
    latest_element_set: LatestElementSet | None
    element_set_count: int
    spacecraft: list[LinkedSpacecraft] = Field(
        description="the caller's organisation's spacecraft with this catalog number"
    )


class RejectionRead(ResponseModel):
    where: str
    reason: str


class OverlayElementSetRead(ElementSetRead):
    """An organisation's unpublished upload, for platform administrators' review."""

    organisation_id: uuid.UUID = Field(description="the organisation whose overlay it is")


class UploadProblemRead(ResponseModel):
    """An element set of the body that was skipped: its line (null where the format has
    none), where the reader places it (``line 6``, ``object 2``), the field and why."""

    line: int | None
    where: str
    field: str | None
    reason: str


class ImportReport(ResponseModel):
    """``received`` counts every set of the body: inserted, already present, rejected by
    the store, and ``skipped`` (unreadable or unstorable, never attempted). ``problems``
    lists the first 20 skipped sets."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received": 1,
                    "inserted": 1,
                    "already_present": 0,
                    "rejected": [],
                    "skipped": 0,
                    "problems": [],
                }
            ]
        }
    )

    received: int
    inserted: int
    already_present: int
    rejected: list[RejectionRead]
    skipped: int
    problems: list[UploadProblemRead]
