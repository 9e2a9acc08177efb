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


class ChainFindingRead(ResponseModel):
    kind: str
    detail: str
    entry_id: int | None
    sequence: int | None
    last_entry_id: int | None
    last_sequence: int | None
    description: str


class ChainVerificationRead(ResponseModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    findings: list[ChainFindingRead]
    notes: list[str]
