"""Request and response bodies of the telemetry API.

Sample batches are not modelled here: they are parsed with orjson and checked in one
tight loop (``validation.validate_samples``), because building a model per sample costs
more than storing it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from astroshield.api.schemas import RequestModel, ResponseModel
from astroshield.telemetry.samples import ParameterType

# Path segments under /telemetry/ that are routes, so no parameter may be named so.
RESERVED_PARAMETER_NAMES = frozenset(
    {"latest", "export", "parameters", "dictionary", "packets", "limits", "live", "alarms"}
)


def _not_reserved(name: str) -> str:
    if name in RESERVED_PARAMETER_NAMES:
        raise ValueError(f"{name!r} is reserved for a telemetry route")
    return name


ParameterName = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$", examples=["bus_voltage"]),
    AfterValidator(_not_reserved),
]


class ParameterWrite(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "BATT_V",
                    "type": "float",
                    "unit": "V",
                    "description": "battery bus voltage",
                    "valid_min": 0,
                    "valid_max": 40,
                }
            ]
        }
    )

    name: ParameterName
    type: ParameterType = ParameterType.FLOAT
    unit: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=2000)
    valid_min: float | None = None
    valid_max: float | None = None
    enum_labels: dict[int, str] | None = Field(
        default=None, description="enumerated parameters: raw code -> label"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ParameterWrite:
        for bound in (self.valid_min, self.valid_max):
            if bound is not None and not math.isfinite(bound):
                raise ValueError("valid_min/valid_max must be finite")
        if (
            self.valid_min is not None
            and self.valid_max is not None
            and self.valid_min > self.valid_max
        ):
            raise ValueError("valid_min must not exceed valid_max")
        if self.enum_labels is not None and self.type != ParameterType.ENUM:
            raise ValueError("enum_labels only apply to enum parameters")
        return self


class ParameterRead(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "BATT_V",
                    "type": "float",
                    "unit": "V",
                    "description": "battery bus voltage",
                    "valid_min": 0.0,
                    "valid_max": 40.0,
                    "enum_labels": None,
                }
            ]
        }
    )

    id: int
    name: str
    type: ParameterType
    unit: str | None
    description: str | None
    valid_min: float | None
    valid_max: float | None
    enum_labels: dict[int, str] | None


class IngestResult(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_id": 1,
                    "accepted": 3,
                    "duplicates": 0,
                    "rejected": [],
                    "first_time": "2026-12-01T07:55:00Z",
                    "last_time": "2026-12-01T07:55:01Z",
                    "replayed": False,
                }
            ]
        }
    )

    batch_id: int
    accepted: int = Field(description="samples stored by this batch")
    duplicates: int = Field(
        description="samples whose (parameter, time) was already archived; the stored "
        "value was kept"
    )
    rejected: list[dict[str, object]] = Field(
        default_factory=list, description="with ?partial=true: the samples left out, and why"
    )
    first_time: datetime | None
    last_time: datetime | None
    replayed: bool = Field(
        default=False, description="true when this is the stored answer to a retried batch"
    )


class SampleRead(ResponseModel):
    time: datetime
    value: float
    limit: str | None = Field(description="limit state of the value, null when in limits")


class SamplePage(ResponseModel):
    parameter: str
    items: list[SampleRead]
    next_cursor: str | None
    limit: int


class Bucket(ResponseModel):
    start: datetime
    stop: datetime
    count: int
    min: float | None
    max: float | None
    avg: float | None


class BucketSeries(ResponseModel):
    parameter: str
    start: datetime
    stop: datetime
    width_s: float
    buckets: list[Bucket]


class LatestValue(ResponseModel):
    parameter: str
    type: ParameterType
    unit: str | None
    time: datetime | None
    value: float | None


ExportFormat = Literal["csv", "parquet"]
SortOrder = Literal["asc", "desc"]
