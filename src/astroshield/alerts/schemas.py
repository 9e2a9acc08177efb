from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, computed_field, model_validator

from astroshield.alerts.links import links_of
from astroshield.api.schemas import RequestModel, ResponseModel

SeverityName = Literal["info", "warning", "critical"]


class AlertRead(ResponseModel):
    id: uuid.UUID
    rule_id: uuid.UUID
    organisation_id: uuid.UUID | None
    labels: dict[str, str]
    status: str
    severity: str | None
    value: float | None
    pending_since: datetime | None
    fired_at: datetime | None
    resolved_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    ack_comment: str | None
    shelved_until: datetime | None
    updated_at: datetime

    # The links as fields, so a client need not know which domain names them how in labels.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def spacecraft_id(self) -> uuid.UUID | None:
        """The spacecraft the alert is about (telemetry, conjunction, CCDM alerts)."""
        return links_of(self.labels).spacecraft_id

    @computed_field  # type: ignore[prop-decorator]
    @property
    def event_id(self) -> uuid.UUID | None:
        """The conjunction event of a Pc alert."""
        return links_of(self.labels).event_id

    @computed_field  # type: ignore[prop-decorator]
    @property
    def parameter(self) -> str | None:
        """The telemetry parameter of a limit alarm."""
        return links_of(self.labels).parameter


class AlertEventRead(ResponseModel):
    id: int
    alert_id: uuid.UUID
    occurred_at: datetime
    change: str
    status: str
    severity: str | None
    value: float | None
    actor: str | None
    comment: str | None


class AlertDetail(AlertRead):
    history: list[AlertEventRead]


class AcknowledgeRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"comment": "Seen; flight dynamics is assessing an avoidance manoeuvre"}]
        }
    )

    comment: Annotated[str, Field(max_length=1000)] | None = None


class ShelveRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"duration_s": 3600}]})

    duration_s: Annotated[int, Field(ge=60, le=7 * 86_400)]


class RuleCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "batt.low",
                    "name": "Battery voltage low",
                    "metric": "BATT_V",
                    "comparison": "below",
                    "thresholds": {"warning": 25.5, "critical": 24.0},
                    "clear_threshold": 26.0,
                    "for_s": 60,
                    "labels": {"subsystem": "eps"},
                    "description": "Battery bus under its warning range for a minute",
                }
            ]
        }
    )

    key: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    metric: Annotated[str, Field(min_length=1, max_length=128)]
    comparison: Literal["above", "below"]
    thresholds: dict[SeverityName, float] = Field(min_length=1)
    clear_threshold: float
    for_s: Annotated[float, Field(ge=0, le=86_400)] = 0
    labels: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=200)]] = (
        Field(default_factory=dict, max_length=20)
    )
    description: Annotated[str, Field(max_length=2000)] | None = None
    enabled: bool = True
    latching: bool = False

    @model_validator(mode="after")
    def _clear_outside_firing_range(self) -> RuleCreate:
        values = self.thresholds.values()
        if self.comparison == "above" and self.clear_threshold > min(values):
            raise ValueError("clear_threshold must not exceed the lowest threshold")
        if self.comparison == "below" and self.clear_threshold < max(values):
            raise ValueError("clear_threshold must not be below the highest threshold")
        return self


class RuleRead(ResponseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID | None
    key: str
    name: str
    metric: str
    comparison: str
    thresholds: dict[str, float]
    clear_threshold: float
    for_s: float
    labels: dict[str, str]
    description: str | None
    enabled: bool
    builtin: bool
    latching: bool
