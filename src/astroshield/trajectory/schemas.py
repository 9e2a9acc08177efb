"""Request and response bodies of the trajectory API (times UTC ISO 8601, km, km/s, deg)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, model_validator

from astroshield.api.examples import ISS_TLE
from astroshield.api.pagination import MAX_ID
from astroshield.api.schemas import UTCDatetime

Frame = Literal["TEME", "GCRF", "ITRF"]
OutputFormat = Literal["json", "oem"]
ShadowModel = Literal["conical", "cylindrical"]
Vector3 = Annotated[list[FiniteFloat], Field(min_length=3, max_length=3)]
OmmScalar = str | int | float | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TleInput(_Strict):
    line1: str = Field(
        max_length=80,
        examples=["1 25544U 98067A   24305.58058399  .00035180  00000-0  60166-3 0  9990"],
    )
    line2: str = Field(
        max_length=80,
        examples=["2 25544  51.6392 359.7717 0008966 122.2149 237.9710 15.50886758479706"],
    )
    name: str | None = Field(default=None, max_length=69)


class StateInput(_Strict):
    epoch: UTCDatetime
    r_km: Vector3
    v_km_s: Vector3
    frame: Frame = "GCRF"


ElementSetId = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_ID,
        description="one set of the object's history (the ids listed by "
        "GET /api/v1/catalog/objects/{n}/element-sets); default: the newest set your "
        "organisation's analyses use",
    ),
]


class ObjectSource(_Strict):
    """Exactly one element source: TLE lines, the fields of one CelesTrak/CCSDS OMM JSON
    object, a catalog number or one of your spacecraft (its catalog number's elements)."""

    SOURCES: ClassVar[tuple[str, ...]] = ("tle", "omm", "catalog_number", "spacecraft_id")

    tle: TleInput | None = None
    omm: dict[str, OmmScalar] | None = Field(default=None, max_length=64)
    catalog_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=9,
        description="NORAD catalog number (digits or Alpha-5): the object's element set",
        examples=["25544"],
    )
    spacecraft_id: uuid.UUID | None = Field(
        default=None, description="one of your spacecraft: the element set of its catalog number"
    )
    element_set_id: ElementSetId | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ObjectSource:
        given = [name for name in self.SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(self.SOURCES)}")
        return self


class ElementsInput(ObjectSource):
    """One SGP4 element set: TLE lines, OMM fields, a catalog number or a spacecraft."""


class PropagateRequest(ObjectSource):
    """The object (``tle``, ``omm``, ``catalog_number``, ``spacecraft_id`` or a ``state``
    vector, exactly one) and the output grid.

    Element sets are propagated with SGP4; a state vector with two-body (Keplerian) motion,
    which ignores J2 and drag: fine for minutes to hours near its epoch, not for days.
    """

    SOURCES: ClassVar[tuple[str, ...]] = (*ObjectSource.SOURCES, "state")
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tle": ISS_TLE,
                    "start": "2024-10-31T14:00:00Z",
                    "stop": "2024-10-31T15:30:00Z",
                    "step_s": 300,
                    "frame": "GCRF",
                },
                {
                    "catalog_number": "25544",
                    "start": "2024-10-31T14:00:00Z",
                    "stop": "2024-10-31T15:30:00Z",
                    "step_s": 300,
                },
                {
                    "spacecraft_id": "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b",
                    "element_set_id": 42,
                    "start": "2024-10-31T14:00:00Z",
                    "stop": "2024-10-31T15:30:00Z",
                    "frame": "ITRF",
                },
            ]
        }
    )

    state: StateInput | None = None
    start: UTCDatetime
    stop: UTCDatetime
    step_s: float = Field(default=60.0, gt=0, le=86_400)
    frame: Frame = "GCRF"


class ObjectInfo(BaseModel):
    catalog_number: str | None
    object_name: str | None
    object_id: str | None
    element_epoch: datetime | None
    propagator: Literal["SGP4", "two-body"]
    element_set_id: int | None = Field(
        default=None,
        description="the catalog element set used (catalog_number or spacecraft_id input); "
        "null for TLE lines, OMM fields or a state vector",
    )


class PropagationError(BaseModel):
    index: int
    epoch: datetime
    code: int
    reason: str


class Ephemeris(BaseModel):
    """States at ``epochs``; where SGP4 failed, ``r_km``/``v_km_s`` are null and ``errors``
    says why (e.g. code 6: decayed)."""

    object: ObjectInfo
    frame: Frame
    center: Literal["EARTH"] = "EARTH"
    epochs: list[datetime]
    r_km: list[list[float] | None]
    v_km_s: list[list[float] | None]
    errors: list[PropagationError]


class StationInput(_Strict):
    name: str | None = Field(default=None, max_length=64)
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=360)
    alt_km: float = Field(default=0.0, ge=-1, le=100)


class AnalyzeRequest(ElementsInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tle": ISS_TLE,
                    "start": "2024-10-31T14:00:00Z",
                    "stop": "2024-10-31T20:00:00Z",
                    "ground_stations": [
                        {"name": "Svalbard", "lat_deg": 78.23, "lon_deg": 15.39, "alt_km": 0.5}
                    ],
                    "min_elevation_deg": 5,
                },
                {
                    "catalog_number": "25544",
                    "start": "2024-10-31T14:00:00Z",
                    "stop": "2024-10-31T20:00:00Z",
                },
                {
                    "spacecraft_id": "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b",
                    "start": "2024-10-31T14:00:00Z",
                    "stop": "2024-10-31T20:00:00Z",
                },
            ]
        }
    )

    start: UTCDatetime
    stop: UTCDatetime
    ground_stations: list[StationInput] = Field(default_factory=list, max_length=20)
    min_elevation_deg: float = Field(default=0.0, ge=-5, le=89)
    eclipse_model: ShadowModel = "conical"
    ground_track_step_s: float = Field(default=60.0, ge=1, le=3600)
    ground_track_max_points: int = Field(default=1000, ge=2, le=20_000)
    lifetime_max_years: float = Field(default=25.0, gt=0, le=200)


class MeanElements(BaseModel):
    """The element set itself and what follows from its mean motion (Kepler's third law)."""

    epoch: datetime
    mean_motion_rev_per_day: float
    semi_major_axis_km: float
    eccentricity: float
    inclination_deg: float
    ra_of_asc_node_deg: float
    arg_of_pericenter_deg: float
    mean_anomaly_deg: float
    bstar_per_earth_radius: float
    perigee_altitude_km: float
    apogee_altitude_km: float
    period_min: float
    regime: str


class OsculatingElements(BaseModel):
    """Two-body elements of the SGP4 GCRF state at the window start."""

    epoch: datetime
    semi_major_axis_km: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_of_perigee_deg: float
    true_anomaly_deg: float
    perigee_altitude_km: float
    apogee_altitude_km: float
    period_min: float


class PassRead(BaseModel):
    station: str | None
    rise: datetime
    culmination: datetime
    set: datetime
    duration_s: float
    max_elevation_deg: float
    rise_azimuth_deg: float
    culmination_azimuth_deg: float
    set_azimuth_deg: float
    starts_before_window: bool
    ends_after_window: bool


class EclipseRead(BaseModel):
    start: datetime
    stop: datetime
    kind: Literal["umbra", "penumbra"]
    duration_s: float


class LifetimeRead(BaseModel):
    status: Literal["decays", "exceeds_max_years", "undetermined"]
    method: str
    lifetime_days: float | None
    decay_epoch: datetime | None
    lifetime_range_days: tuple[float | None, float | None]
    max_years: float
    ballistic_coefficient_m2_kg: float | None
    uncertainty: str


class GroundTrackRead(BaseModel):
    """Decimated sub-satellite points; null where SGP4 failed."""

    epochs: list[datetime]
    latitude_deg: list[float | None]
    longitude_deg: list[float | None]
    altitude_km: list[float | None]


class Analysis(BaseModel):
    object: ObjectInfo
    start: datetime
    stop: datetime
    mean_elements: MeanElements
    osculating_elements: OsculatingElements | None
    passes: list[PassRead]
    eclipses: list[EclipseRead]
    lifetime: LifetimeRead
    ground_track: GroundTrackRead
    warnings: list[str] = Field(default_factory=list)
