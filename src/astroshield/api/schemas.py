"""Base models for request and response bodies, and the types every input shares.

Bodies reach these models through :mod:`astroshield.api.json_body` (strict JSON: no NaN or
Infinity, no lone surrogate, no NUL); the types here bound what JSON alone cannot: times to
the years this service can mean, integers to what a database column holds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

# Clocks of reporting systems drift; a small skew is tolerated, a future timestamp is not.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)
# Nothing this service stores predates the first satellite or plans past these two
# centuries; the bounds also keep every offset conversion clear of datetime's own limits.
EARLIEST_YEAR = 1957
LATEST_YEAR = 2200
# BIGINT columns and cursors: a signed 64-bit integer.
INT63_MAX = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


class RequestModel(BaseModel):
    """Request bodies: unknown fields are refused so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def in_service_range(value: datetime) -> datetime:
    """An aware time within the years this service handles, in UTC."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value.astimezone(UTC)


# Every time an API takes: an offset is required (no guessing the sender's zone), the
# value is converted to UTC.
UTCDatetime = Annotated[AwareDatetime, AfterValidator(in_service_range)]


def not_in_future(value: datetime | None) -> datetime | None:
    if value is not None and value > datetime.now(UTC) + CLOCK_SKEW_ALLOWANCE:
        raise ValueError("must not be in the future")
    return value


def parse_int63(text: str) -> int | None:
    """A non-negative integer written in ASCII digits that fits a BIGINT, else None.
    (``str.isdigit`` admits other scripts' digits and superscripts, ``int`` any size.)"""
    if _ASCII_DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= INT63_MAX else None
