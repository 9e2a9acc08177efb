"""Who did something, from where, and the audit event that says so.

The audit domain stores and chains these events; the request layer (``api``) and the
security layer build them without depending on that domain, so they live here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

# audit_log.object_id is String(64).
OBJECT_ID_MAX = 64


@dataclass(frozen=True)
class AuditEvent:
    action: str
    actor: str | None = None
    organisation_id: uuid.UUID | None = None
    object_type: str | None = None
    object_id: str | None = None
    client_address: str | None = None
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, from where: the part of every audit entry a request supplies."""

    user_id: str | None
    organisation_id: uuid.UUID | None
    request_id: str | None = None
    client_address: str | None = None

    def event(
        self,
        action: str,
        *,
        object_type: str | None = None,
        object_id: object = None,
        organisation_id: uuid.UUID | None = None,
        **details: Any,
    ) -> AuditEvent:
        object_text = None if object_id is None else str(object_id)
        if object_text is not None and len(object_text) > OBJECT_ID_MAX:
            # A long identifier (a request path, say) is kept whole in the details; the
            # indexed column holds its start, so the record is written rather than refused.
            details = {**details, "object_id": object_text}
            object_text = object_text[: OBJECT_ID_MAX - 1] + "…"
        return AuditEvent(
            action=action,
            actor=self.user_id,
            organisation_id=organisation_id or self.organisation_id,
            object_type=object_type,
            object_id=object_text,
            client_address=self.client_address,
            request_id=self.request_id,
            details=details,
        )
