from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, ConfigDict, Field

from astroshield.api.schemas import RequestModel, ResponseModel, UTCDatetime
from astroshield.astro.conjunction.risk import Tier, Trend
from astroshield.conjunction.models import EventSource, EventStatus, ScreeningStatus

# Which window edge cut an approach found by a screening off (see astro.conjunction.screening).
WindowEdge = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The filters of ``GET /conjunctions``, all optional."""

    tier: str | None = None
    spacecraft_id: uuid.UUID | None = None
    tca_after: datetime | None = None
    tca_before: datetime | None = None
    state: str | None = None


# Examples for /docs: the CCSDS 508.0-B-1 annex CDM as this service stores it.
_EVENT_EXAMPLE: dict[str, Any] = {
    "id": "0193a5e3-2a1b-7c3d-8e4f-5a6b7c8d9e0f",
    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
    "primary_catalog_number": "12345",
    "secondary_catalog_number": "30337",
    "secondary_name": "FENGYUN 1C DEB",
    "tca": "2010-03-13T22:37:52.618Z",
    "miss_distance_m": 715.0,
    "relative_speed_m_s": 14762.09,
    "pc": 1.378e-09,
    "tier": "green",
    "tier_basis": "pc",
    "state": "closed",
    "source": "cdm",
    "created_at": "2026-12-01T08:10:00Z",
    "updated_at": "2026-12-01T08:10:00Z",
}
_CDM_EXAMPLE: dict[str, Any] = {
    "id": "0193a5e5-4c3d-7e5f-8a61-7c8d9e0f1a2b",
    "event_id": "0193a5e3-2a1b-7c3d-8e4f-5a6b7c8d9e0f",
    "message_id": "201113719185",
    "originator": "JSPOC",
    "creation_date": "2010-03-12T22:31:12Z",
    "tca": "2010-03-13T22:37:52.618Z",
    "miss_distance_m": 715.0,
    "pc_2d_foster": 1.378e-09,
    "pc_2d_chan": 1.365e-09,
    "pc_max": 1.12e-05,
    "pc_3d": 1.381e-09,
    "pc_mc": 0.0,
    "covariance_remediation_status": "remediated",
    "pc_undefined_reason": {},
    "hbr_m": 1.82,
    "format": "kvn",
    "source": "api",
    "received_at": "2026-12-01T08:10:00Z",
}


class ConjunctionEventRead(ResponseModel):
    """An encounter; ``pc`` is the 2-D Foster Pc of the newest CDM (None when the event
    comes from a screening, which has no covariance: the tier is then from miss distance)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT_EXAMPLE]})

    id: uuid.UUID
    spacecraft_id: uuid.UUID
    primary_catalog_number: str
    secondary_catalog_number: str
    secondary_name: str | None
    tca: datetime
    miss_distance_m: float
    relative_speed_m_s: float | None
    pc: float | None
    tier: Tier
    tier_basis: str
    state: EventStatus = Field(
        validation_alias=AliasChoices("state", "status"),  # the column is still status
        description="open until its TCA has passed, then closed",
    )
    source: EventSource
    window_edge: WindowEdge | None = Field(
        default=None,
        description="set when a screening found the pair within its threshold at the "
        "window's start (receding) or end (still closing): tca and miss_distance_m are the "
        "values at that edge, the true minimum lies outside the window",
    )
    created_at: datetime
    updated_at: datetime


class CdmRead(ResponseModel):
    """One CDM of an event with the Pc of every method computed from it.

    A Pc is null when it is undefined (a covariance that cannot be remediated):
    ``pc_undefined_reason`` maps the method to the reason. ``covariance_remediation_status`` is
    ``positive_definite``, ``positive_semidefinite``, ``remediated`` (eigenvalues clipped as
    CARA does; the Pc carries that caveat) or ``not_remediable``.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_CDM_EXAMPLE]})

    id: uuid.UUID
    event_id: uuid.UUID
    message_id: str
    originator: str
    creation_date: datetime
    tca: datetime
    miss_distance_m: float
    pc_2d_foster: float | None
    pc_2d_chan: float | None
    pc_max: float | None
    pc_3d: float | None
    pc_mc: float | None
    covariance_remediation_status: str
    pc_undefined_reason: dict[str, str]
    hbr_m: float
    format: Literal["kvn", "xml"]
    source: str
    received_at: datetime


class CdmUploadRead(ResponseModel):
    """``duplicate`` is true when this MESSAGE_ID had been stored already (nothing changed)."""

    duplicate: bool
    event: ConjunctionEventRead
    cdm: CdmRead
    report: dict[str, Any]


class PcTrendRead(ResponseModel):
    trend: Trend
    decades_per_day: float | None


class ConjunctionEventDetail(ConjunctionEventRead):
    """The event with its CDM history (oldest first) and the trend of Pc over it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_EVENT_EXAMPLE, "cdms": [_CDM_EXAMPLE], "pc_trend": {"trend": "unknown"}}
            ]
        }
    )

    cdms: list[CdmRead]
    pc_trend: PcTrendRead


class ApproachRead(ResponseModel):
    time_offset_s: float
    miss_distance_km: float
    pc: float


class AvoidanceRead(ResponseModel):
    """The smallest impulsive Δv (two-body trade study, see ``astro.avoidance``) that takes
    Pc below ``red_pc``; ``feasible`` is false when none up to ``max_delta_v_m_s`` does."""

    cdm_id: uuid.UUID
    direction: Literal["along_track", "radial"]
    lead_time_s: float
    red_pc: float
    max_delta_v_m_s: float
    feasible: bool
    delta_v_m_s: float | None
    before: ApproachRead
    after: ApproachRead | None


Days = Annotated[float, Field(gt=0, description="window length in days (at most 7)")]
ThresholdKm = Annotated[float, Field(gt=0, description="report approaches closer than this")]


class ScreeningCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "spacecraft_id": "0193a5e2-7c4b-7d3e-9f10-2b6c8d4e5f60",
                    "start": "2026-12-07T00:00:00Z",
                    "days": 3,
                    "threshold_km": 5,
                }
            ]
        }
    )

    spacecraft_id: uuid.UUID
    start: UTCDatetime
    days: Days
    threshold_km: ThresholdKm


class ScreeningHit(ResponseModel):
    event_id: uuid.UUID
    secondary_catalog_number: str
    tca: datetime
    miss_distance_km: float
    relative_speed_km_s: float
    tier: Tier
    edge: WindowEdge | None = Field(
        default=None,
        description="null for a minimum inside the window; 'start'/'end' when the pair is "
        "within the threshold at that edge and its minimum lies beyond it (tca and "
        "miss_distance_km are then the values at the edge)",
    )


class ScreeningRead(ResponseModel):
    id: uuid.UUID
    spacecraft_id: uuid.UUID
    catalog_number: str
    start: datetime
    days: float
    threshold_km: float
    status: ScreeningStatus
    error: str | None
    objects_screened: int | None
    results: list[ScreeningHit]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
