from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from astroshield.api.deps import SessionDep, authorize
from astroshield.api.pagination import Page, PageDep, cursor_value, make_page
from astroshield.api.schemas import UTCDatetime
from astroshield.api.state import state_of
from astroshield.audit import service
from astroshield.audit.models import AuditEntry
from astroshield.audit.schemas import (
    AuditEntryRead,
    AuditFilter,
    AuditStream,
    ChainFindingRead,
    ChainVerificationRead,
)
from astroshield.audit.verify import verify_against_files
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/audit", tags=["audit"])
# Who may read which stream: an organisation's administrators its own, platform
# administrators the platform's (entries of no organisation).
STREAM_SCOPES = {"organisation": Scope.AUDIT_READ, "platform": Scope.PLATFORM_AUDIT}
Stream = Annotated[
    AuditStream,
    Query(
        description="organisation: your organisation's trail; platform: platform-wide "
        "changes and system jobs (platform administrators)"
    ),
]
Short = Annotated[str | None, Query(max_length=64)]


def _key(entry: AuditEntry) -> dict[str, str]:
    return {"id": str(entry.id)}


@router.get("")
async def list_audit_entries(
    request: Request,
    session: SessionDep,
    page: PageDep,
    stream: Stream = "organisation",
    action: Short = None,
    actor: Short = None,
    object_type: Short = None,
    object_id: Short = None,
    since: UTCDatetime | None = None,
    until: UTCDatetime | None = None,
) -> Page[AuditEntryRead]:
    """Your organisation's audit trail, or the platform's, newest first."""
    reader = await authorize(request, STREAM_SCOPES[stream])
    filters = AuditFilter(
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
    before = cursor_value(page, "id", int)
    rows = await service.list_entries(
        session, reader, stream, filters, before_id=before, limit=page.limit + 1
    )
    return make_page(rows, page, render=AuditEntryRead.model_validate, key=_key)


@router.get("/verify")
async def verify_audit_chain(session: SessionDep, request: Request) -> ChainVerificationRead:
    """Check the whole chain and this replica's checkpoint file (as `astroshield audit
    verify` does); reads every entry, so it takes as long as the log is long."""
    # The chain spans every organisation: only platform administrators see its state.
    await authorize(request, STREAM_SCOPES["platform"])
    checkpoint_file = state_of(request).settings.audit_checkpoint_file
    report = await verify_against_files(session, [checkpoint_file])
    return ChainVerificationRead(
        ok=report.ok,
        entries_checked=report.entries_checked,
        checkpoints_checked=report.checkpoints_checked,
        findings=[
            ChainFindingRead(
                kind=f.kind,
                detail=f.detail,
                entry_id=f.entry_id,
                sequence=f.sequence,
                last_entry_id=f.last_entry_id,
                last_sequence=f.last_sequence,
                description=f.describe(),
            )
            for f in report.findings
        ],
        notes=report.notes,
    )
