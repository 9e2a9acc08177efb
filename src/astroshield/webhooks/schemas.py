from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import ConfigDict, Field, field_validator

from astroshield.api.schemas import RequestModel, ResponseModel
from astroshield.events.schemas import EventType

DeliveryStatus = Literal["pending", "succeeded", "failed"]
WebhookUrl = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2048,
        description="https:// endpoint (http:// to loopback only where the service allows it)",
    ),
]
# A caller-chosen secret is long enough to resist guessing; generated ones are 43 chars.
WebhookSecret = Annotated[str, Field(min_length=32, max_length=256, pattern=r"^[\x21-\x7e]+$")]
Description = Annotated[str, Field(max_length=500)]
EventTypes = Annotated[
    list[EventType],
    Field(
        min_length=1,
        max_length=len(EventType),
        description="event types to receive, as GET /api/v1/events/schemas lists them",
    ),
]
WebhookIdPath = Annotated[uuid.UUID, Path(description="a webhook subscription id")]
DeliveryIdPath = Annotated[uuid.UUID, Path(description="a delivery id")]


class DeliveryStatusFilter(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


DeliveryStatusQuery = Annotated[
    DeliveryStatusFilter | None, Query(alias="status", description="only deliveries in this status")
]


def _unique(types: list[EventType] | None) -> list[EventType] | None:
    if types is not None and len(set(types)) != len(types):
        raise ValueError("must not repeat an event type")
    return types


class WebhookCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.org/astroshield",
                    "event_types": ["conjunction.created", "alert.changed"],
                    "description": "operations chat bridge",
                }
            ]
        }
    )

    url: WebhookUrl
    event_types: EventTypes
    description: Description = ""
    active: bool = True
    # Omitted: generated (recommended). Shown once, in this answer.
    secret: WebhookSecret | None = None

    _unique_types = field_validator("event_types")(_unique)


class WebhookUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    active: bool | None = None

    _unique_types = field_validator("event_types")(_unique)


class WebhookRead(ResponseModel):
    """A subscription; its secret is never shown again after create or rotate."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    """The answer of create and rotate: the only time the secret is shown."""

    secret: str


class DeliveryRead(ResponseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    response_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
