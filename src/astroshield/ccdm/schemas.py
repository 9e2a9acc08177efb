from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from astroshield.api.schemas import ResponseModel
from astroshield.astro.ccdm.intent import IndicatorName, IntentCategory
from astroshield.astro.ccdm.pattern_of_life import EventKind
from astroshield.astro.ccdm.rpo import ApproachTrend


class DailyApproachRead(ResponseModel):
    day_start: datetime
    time: datetime
    range_km: float


class ManeuverEffectRead(ResponseModel):
    maneuver_epoch: datetime
    delta_v_m_s: float
    pre_maneuver_epoch: datetime = Field(description="element set propagated for 'before'")
    post_maneuver_epoch: datetime = Field(description="element set propagated for 'after'")
    predicted_min_range_before_km: float
    predicted_min_range_after_km: float
    toward: bool
    away: bool


class NeighbourRead(ResponseModel):
    catalog_number: str
    plane_angle_deg: float
    altitude_gap_km: float
    longitude_separation_deg: float | None
    trend: ApproachTrend
    slope_km_per_day: float | None = Field(
        description="Theil-Sen slope of the daily closest approach (negative: closing)"
    )
    closing_rate_km_per_day: float | None = Field(description="minus the slope")
    closest_approach_km: float | None
    closest_approach_time: datetime | None
    maneuvered_toward: bool
    maneuvered_away: bool
    daily: list[DailyApproachRead]
    maneuvers: list[ManeuverEffectRead]
    element_set_epochs: list[datetime] = Field(description="the neighbour's sets used")


class ProximityRead(ResponseModel):
    spacecraft_id: uuid.UUID
    catalog_number: str
    window_start: datetime
    window_stop: datetime
    protected_element_set_epochs: list[datetime]
    neighbours: list[NeighbourRead]


class ManeuverRead(ResponseModel):
    epoch: datetime
    window_start: datetime
    window_end: datetime
    delta_v_m_s: float
    delta_v_in_plane_m_s: float
    delta_v_out_of_plane_m_s: float
    delta_a_km: float
    delta_inclination_deg: float
    kind: Literal["in_plane", "out_of_plane", "both"]
    confidence: float
    score: float
    before_epoch: datetime = Field(description="last element set before the maneuver")
    after_epoch: datetime = Field(description="first element set after the maneuver")


class ManeuverList(ResponseModel):
    catalog_number: str
    start: datetime
    stop: datetime
    element_set_count: int
    sources: list[str]
    maneuvers: list[ManeuverRead]


class ValueRangeRead(ResponseModel):
    low: float
    high: float
    median: float
    scale: float
    unit: str


class CadenceRead(ResponseModel):
    count: int
    median_interval_days: float | None
    interval_spread_days: float | None
    median_delta_v_m_s: float | None
    delta_v_spread_m_s: float | None


class OutOfFamilyEventRead(ResponseModel):
    kind: EventKind
    epoch: datetime
    value: float
    expected: float
    unit: str
    score: float
    explanation: str


class PatternOfLifeRead(ResponseModel):
    catalog_number: str
    is_geo: bool
    first_epoch: datetime
    last_epoch: datetime
    element_set_count: int
    sources: list[str]
    cadence: CadenceRead
    longitude_box_deg: ValueRangeRead | None
    drift_rate_deg_per_day: ValueRangeRead | None
    semi_major_axis_km: ValueRangeRead
    inclination_deg: ValueRangeRead
    eccentricity: ValueRangeRead
    events: list[OutOfFamilyEventRead]


class IndicatorRead(ResponseModel):
    name: IndicatorName
    value: float | None = Field(description="measured value; null when there was no data")
    threshold: float
    unit: str
    weight: float
    contributes: bool
    source: str = Field(description="the data the value came from (element-set epochs, source)")


class IntentRead(ResponseModel):
    spacecraft_id: uuid.UUID
    protected_catalog_number: str
    catalog_number: str
    window_start: datetime
    window_stop: datetime
    category: IntentCategory
    score: float
    explanation: str
    evidence: list[IndicatorRead]
    threat_alert: bool = Field(description="true when this assessment fired the threat alert")
