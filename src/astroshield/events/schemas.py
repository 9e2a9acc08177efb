from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Path
from pydantic import ConfigDict

from astroshield.api.schemas import ResponseModel
from astroshield.events.catalogue import EVENT_TYPES

EventType = StrEnum("EventType", {name.replace(".", "_"): name for name in EVENT_TYPES})  # type: ignore[misc]
EventTypePath = Annotated[
    EventType, Path(description="an event type, as GET /events/schemas lists them")
]


class EventTypeRead(ResponseModel):
    type: str
    description: str
    # NATS subject the events of this type are published on; <organisation-slug> is yours.
    nats_subject: str
    schema_url: str


class EventTypeList(ResponseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "type": "conjunction.created",
                            "description": "CloudEvents 1.0 envelope (JSON format) of an "
                            "AstroShield `conjunction.created` event.",
                            "nats_subject": "astroshield.events.<organisation-slug>."
                            "conjunction.created",
                            "schema_url": "/api/v1/events/schemas/conjunction.created",
                        }
                    ]
                }
            ]
        },
    )

    items: list[EventTypeRead]
