"""Base models for request and response bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

# Clocks of reporting systems drift; a small skew is tolerated, a future timestamp is not.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)


class RequestModel(BaseModel):
    """Request bodies: unknown fields are refused so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def not_in_future(value: AwareDatetime | None) -> AwareDatetime | None:
    if value is not None and value > datetime.now(UTC) + CLOCK_SKEW_ALLOWANCE:
        raise ValueError("must not be in the future")
    return value
