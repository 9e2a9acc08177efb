from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.db import upsert_insert
from astroshield.jobs.models import Job, JobStatus


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_claimed(self, values: dict[str, Any]) -> bool:
        """Insert the job as running for its claimant, unless (kind, key) exists."""
        statement = (
            upsert_insert(self.session, Job.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["kind", "key"])
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def take_over(
        self, kind: str, key: str, owner: str, until: datetime, now: datetime
    ) -> bool:
        """Claim an existing job whose runner's lease ran out, or a failed one that may be
        retried now; one conditional UPDATE, so two replicas cannot both win."""
        abandoned = and_(Job.status == JobStatus.RUNNING.value, Job.claimed_until < now)
        retryable = and_(
            Job.status == JobStatus.FAILED.value,
            Job.attempts < Job.max_attempts,
            Job.retry_after <= now,
        )
        statement = (
            update(Job)
            .where(Job.kind == kind, Job.key == key, or_(abandoned, retryable))
            .values(
                status=JobStatus.RUNNING.value,
                attempts=Job.attempts + 1,
                claimed_by=owner,
                claimed_until=until,
                started_at=now,
                finished_at=None,
                retry_after=None,
            )
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def find(self, kind: str, key: str) -> Job | None:
        statement = select(Job).where(Job.kind == kind, Job.key == key)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def renew(self, job_id: uuid.UUID, owner: str, until: datetime) -> bool:
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.claimed_by == owner, Job.status == JobStatus.RUNNING.value)
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def settle(self, job_id: uuid.UUID, owner: str, values: dict[str, Any]) -> bool:
        """Record the end of a run, if this claimant still holds the job."""
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.claimed_by == owner, Job.status == JobStatus.RUNNING.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def get(self, job_id: uuid.UUID, organisation_id: uuid.UUID | None) -> Job | None:
        statement = select(Job).where(Job.id == job_id, _of(organisation_id))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list(
        self,
        organisation_id: uuid.UUID | None,
        *,
        kind: str | None,
        status: str | None,
        before: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Job]:
        """Newest first (ids are UUIDv7: time-ordered)."""
        statement = select(Job).where(_of(organisation_id))
        if kind is not None:
            statement = statement.where(Job.kind == kind)
        if status is not None:
            statement = statement.where(Job.status == status)
        if before is not None:
            statement = statement.where(Job.id < before)
        statement = statement.order_by(Job.id.desc()).limit(limit)
        return (await self.session.execute(statement)).scalars().all()


def _of(organisation_id: uuid.UUID | None) -> Any:
    """An organisation's jobs, or (None) the platform's own."""
    if organisation_id is None:
        return Job.organisation_id.is_(None)
    return Job.organisation_id == organisation_id
