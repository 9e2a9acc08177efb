from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from astroshield.api.schemas import ResponseModel

JobStream = Literal["organisation", "platform"]
JobStatusName = Literal["running", "succeeded", "failed"]


class JobRead(ResponseModel):
    id: uuid.UUID
    kind: str
    key: str
    organisation_id: uuid.UUID | None
    status: JobStatusName
    attempts: int
    max_attempts: int
    claimed_by: str | None
    claimed_until: datetime | None
    retry_after: datetime | None
    created_at: datetime
    started_at: datetime
    finished_at: datetime | None
    last_error: str | None
    result: dict[str, Any] | None
