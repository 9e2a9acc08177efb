from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from astroshield.api.schemas import ResponseModel


class AuditEntryRead(ResponseModel):
    id: int
    occurred_at: datetime
    actor: str | None
    organisation_id: uuid.UUID | None
    action: str
    object_type: str | None
    object_id: str | None
    client_address: str | None
    request_id: str | None
    details: dict[str, Any]
    previous_hash: str
    entry_hash: str
