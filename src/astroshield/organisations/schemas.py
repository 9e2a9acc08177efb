from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from astroshield.api.schemas import RequestModel, ResponseModel


class OrganisationCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Example Space Operations", "slug": "example-space-ops"}]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")


class OrganisationRead(ResponseModel):
    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime
