from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from astroshield.api.deps import SessionDep, authorize
from astroshield.api.pagination import Page, PageDep, cursor_value, make_page
from astroshield.errors import NotFoundError
from astroshield.jobs import service
from astroshield.jobs.models import Job
from astroshield.jobs.schemas import JobRead, JobStatusName, JobStream
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/jobs", tags=["jobs"])
# The platform's jobs (retention, catalog refresh...) are its administrators'; an
# organisation's jobs are its administrators'.
STREAM_SCOPES = {"organisation": Scope.AUDIT_READ, "platform": Scope.PLATFORM_AUDIT}
Stream = Annotated[
    JobStream,
    Query(
        description="organisation: your organisation's jobs; platform: the platform's "
        "scheduled jobs (platform administrators)"
    ),
]


def _key(job: Job) -> dict[str, str]:
    return {"id": str(job.id)}


@router.get("")
async def list_jobs(
    request: Request,
    session: SessionDep,
    page: PageDep,
    stream: Stream = "organisation",
    kind: Annotated[str | None, Query(max_length=64)] = None,
    status: JobStatusName | None = None,
) -> Page[JobRead]:
    """Background jobs, newest first: what ran, where, how often it was tried, and why
    it failed."""
    reader = await authorize(request, STREAM_SCOPES[stream])
    organisation_id = reader.organisation_id if stream == "organisation" else None
    rows = await service.list_jobs(
        session,
        organisation_id,
        kind=kind,
        status=status,
        before=cursor_value(page, "id", uuid.UUID),
        limit=page.limit + 1,
    )
    return make_page(rows, page, render=JobRead.model_validate, key=_key)


@router.get("/{job_id}")
async def get_job(
    job_id: uuid.UUID, request: Request, session: SessionDep, stream: Stream = "organisation"
) -> JobRead:
    reader = await authorize(request, STREAM_SCOPES[stream])
    organisation_id = reader.organisation_id if stream == "organisation" else None
    job = await service.get_job(session, organisation_id, job_id)
    if job is None:
        raise NotFoundError("job not found")
    return JobRead.model_validate(job)
