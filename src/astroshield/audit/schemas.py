from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from astroshield.api.schemas import ResponseModel

# organisation: an organisation's trail; platform: entries of no organisation
# (platform-wide changes, system jobs).
AuditStream = Literal["organisation", "platform"]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    organisation_id: uuid.UUID | None = None
    # The platform stream: entries of no organisation (platform-wide changes, system jobs).
    platform_stream: bool = False
    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


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
