"""``/telemetry/{parameter}/limits``: read and edit a parameter's limit set at run time.

Limit alarms are alerts: acknowledge and shelve them with ``/api/v1/alerts/{id}/...``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, Field, model_validator

from astroshield.api.deps import ActorDep, SessionDep, require_scope
from astroshield.api.schemas import RequestModel, ResponseModel
from astroshield.api.state import state_of
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.spacecraft.service import StatusCache
from astroshield.telemetry import limits_service

router = APIRouter(prefix="/spacecraft/{spacecraft_id}/telemetry", tags=["telemetry"])
Reader = Annotated[Principal, Depends(require_scope(Scope.TELEMETRY_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.TELEMETRY_WRITE))]
LevelName = Literal["watch", "warning", "distress", "critical", "severe"]


class LimitBounds(RequestModel):
    """The acceptable range for one level, inclusive; leave a side out to leave it open."""

    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> LimitBounds:
        if self.low is None and self.high is None:
            raise ValueError("give low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class LimitSetWrite(RequestModel):
    # The demo spacecraft's battery bus limits (its XTCE DefaultAlarm): acceptable spans.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ranges": {
                        "warning": {"low": 25.5, "high": 29.4},
                        "critical": {"low": 24.0, "high": 30.5},
                    },
                    "min_violations": 3,
                    "enabled": True,
                }
            ]
        }
    )

    ranges: dict[LevelName, LimitBounds] = Field(min_length=1)
    min_violations: Annotated[int, Field(ge=1, le=10_000)] = 1
    enabled: bool = True


class LimitStateRead(ResponseModel):
    consecutive_violations: int
    level: str | None
    last_time: datetime | None


class LimitSetRead(ResponseModel):
    parameter: str
    ranges: dict[str, dict[str, float | None]]
    min_violations: int
    enabled: bool
    alert_rule_id: uuid.UUID | None
    updated_by: str | None
    updated_at: datetime
    state: LimitStateRead | None


def _read(found: limits_service.FoundLimitSet) -> LimitSetRead:
    row, state = found.row, found.state
    return LimitSetRead(
        parameter=found.parameter,
        ranges=row.ranges,
        min_violations=row.min_violations,
        enabled=row.enabled,
        alert_rule_id=row.alert_rule_id,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        state=LimitStateRead(
            consecutive_violations=state.consecutive_violations,
            level=state.last_level,
            last_time=state.last_time,
        )
        if state is not None
        else None,
    )


@router.get("/{parameter}/limits")
async def get_limits(
    spacecraft_id: uuid.UUID, parameter: str, reader: Reader, session: SessionDep
) -> LimitSetRead:
    return _read(await limits_service.get_limit_set(session, reader, spacecraft_id, parameter))


@router.put("/{parameter}/limits")
async def put_limits(
    spacecraft_id: uuid.UUID,
    parameter: str,
    data: LimitSetWrite,
    writer: Writer,
    session: SessionDep,
    actor: ActorDep,
    request: Request,
) -> LimitSetRead:
    """Create or replace the limit set; it applies from the next ingested sample. Its
    alarm counts in the spacecraft's health only while the limit set is enabled."""
    found = await limits_service.save_limit_set(
        session,
        writer,
        spacecraft_id,
        parameter,
        ranges={level: (b.low, b.high) for level, b in data.ranges.items()},
        min_violations=data.min_violations,
        enabled=data.enabled,
        actor=actor,
        cache=state_of(request).component(StatusCache),
    )
    return _read(found)
