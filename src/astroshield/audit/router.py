from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from astroshield.api.deps import SessionDep, require_scope
from astroshield.api.pagination import Page, PageDep, cursor_value, make_page
from astroshield.api.schemas import UTCDatetime
from astroshield.audit.models import AuditEntry
from astroshield.audit.repository import AuditFilter, AuditRepository
from astroshield.audit.schemas import AuditEntryRead
from astroshield.security.principal import Principal

router = APIRouter(prefix="/audit", tags=["audit"])
AuditReader = Annotated[Principal, Depends(require_scope("audit:read"))]
Short = Annotated[str | None, Query(max_length=64)]


def _key(entry: AuditEntry) -> dict[str, str]:
    return {"id": str(entry.id)}


@router.get("")
async def list_audit_entries(
    reader: AuditReader,
    session: SessionDep,
    page: PageDep,
    action: Short = None,
    actor: Short = None,
    object_type: Short = None,
    object_id: Short = None,
    since: UTCDatetime | None = None,
    until: UTCDatetime | None = None,
) -> Page[AuditEntryRead]:
    """Your organisation's audit trail, newest first."""
    filters = AuditFilter(
        organisation_id=reader.organisation_id,
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
    before = cursor_value(page, "id", int)
    rows = await AuditRepository(session).list(filters, before_id=before, limit=page.limit + 1)
    return make_page(rows, page, render=AuditEntryRead.model_validate, key=_key)
