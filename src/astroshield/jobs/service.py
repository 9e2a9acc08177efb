"""Run a job once across replicas: whoever inserts its (kind, key) row runs it; the others
see the row and skip. A runner renews its lease while it works; if it dies, the lease runs
out and the next replica to try takes the job over. A failed job is retried with backoff
up to ``max_attempts``; every attempt, error and result stays in the table for admins.

Periodic work uses the period it covers as the key (:func:`period_key`), so however many
replicas wake up for 13:00, one retention run covers 13:00.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.config import Settings
from astroshield.db import session_scope, utcnow, uuid7
from astroshield.jobs.models import Job, JobStatus
from astroshield.jobs.repository import JobRepository

log = structlog.get_logger(__name__)

JOB_RUNS = Counter(
    "astroshield_job_runs_total",
    "Job attempts this replica ran, by kind and outcome (succeeded, failed)",
    ["kind", "outcome"],
)
JOB_SKIPS = Counter(
    "astroshield_job_skips_total",
    "Jobs this replica found claimed or done by another and did not run, by kind",
    ["kind"],
)
_ERROR_CHARS = 2000

Work = Callable[[], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class JobOutcome:
    ran: bool  # this replica ran the job (False: another holds it or has done it)
    job_id: uuid.UUID | None
    status: str | None
    result: Mapping[str, Any] | None = None
    error: str | None = None


async def every(
    interval_s: Callable[[], float], name: str, once: Callable[[], Awaitable[object]]
) -> None:
    """Run ``once`` every ``interval_s()`` seconds (read before each wait: runtime
    configuration may change it), the first time one interval after start so a restarting
    fleet does not run everything at once. A failed run is logged and the schedule goes on."""
    while True:
        await asyncio.sleep(interval_s())
        try:
            await once()
        except Exception:  # a failed run must not end the schedule
            log.exception("scheduled_run_failed", schedule=name)


def period_key(now: datetime, interval_s: float) -> str:
    """The start of the period of ``interval_s`` seconds that ``now`` falls in (UTC, ISO)."""
    step = max(int(interval_s), 1)
    start = int(now.timestamp()) // step * step
    return datetime.fromtimestamp(start, UTC).isoformat()


class JobRunner:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        lease_s: float = 60.0,
        max_attempts: int = 3,
        retry_delay_s: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.owner = f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.clock = clock

    @classmethod
    def from_settings(
        cls, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> JobRunner:
        return cls(
            sessionmaker,
            lease_s=settings.job_lease_s,
            max_attempts=settings.job_max_attempts,
            retry_delay_s=settings.job_retry_delay_s,
        )

    async def run(
        self,
        kind: str,
        key: str,
        work: Work,
        *,
        organisation_id: uuid.UUID | None = None,
    ) -> JobOutcome:
        job = await self._claim(kind, key, organisation_id)
        if job.claimed_by != self.owner or job.status != JobStatus.RUNNING.value:
            JOB_SKIPS.labels(kind).inc()
            return JobOutcome(False, job.id, job.status, job.result, job.last_error)
        heartbeat = asyncio.create_task(self._keep_lease(job.id))
        try:
            result = await work()
        except Exception as exc:  # the job's failure is recorded, not the runner's
            error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
            log.exception("job_failed", kind=kind, key=key, attempt=job.attempts)
            retry = self.clock() + timedelta(seconds=self.retry_delay_s * 2 ** (job.attempts - 1))
            await self._settle(job, JobStatus.FAILED, last_error=error, retry_after=retry)
            JOB_RUNS.labels(kind, "failed").inc()
            return JobOutcome(True, job.id, JobStatus.FAILED.value, None, error)
        finally:
            heartbeat.cancel()
        stored = dict(result) if result is not None else None
        await self._settle(job, JobStatus.SUCCEEDED, result=stored, last_error=None)
        JOB_RUNS.labels(kind, "succeeded").inc()
        return JobOutcome(True, job.id, JobStatus.SUCCEEDED.value, stored)

    async def _claim(self, kind: str, key: str, organisation_id: uuid.UUID | None) -> Job:
        """Insert the job as ours, or take it over; either way, the row as it now is."""
        now = self.clock()
        until = now + timedelta(seconds=self.lease_s)
        async with session_scope(self.sessionmaker) as session:
            repository = JobRepository(session)
            values = {
                "id": uuid7(),
                "kind": kind,
                "key": key,
                "organisation_id": organisation_id,
                "status": JobStatus.RUNNING.value,
                "attempts": 1,
                "max_attempts": self.max_attempts,
                "claimed_by": self.owner,
                "claimed_until": until,
                "created_at": now,
                "started_at": now,
            }
            if not await repository.insert_claimed(values):
                await repository.take_over(kind, key, self.owner, until, now)
            job = await repository.find(kind, key)
            assert job is not None  # inserted or existing: the unique key holds a row
            return job

    async def _keep_lease(self, job_id: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            async with session_scope(self.sessionmaker) as session:
                until = self.clock() + timedelta(seconds=self.lease_s)
                await JobRepository(session).renew(job_id, self.owner, until)

    async def _settle(self, job: Job, status: JobStatus, **values: Any) -> None:
        async with session_scope(self.sessionmaker) as session:
            settled = await JobRepository(session).settle(
                job.id,
                self.owner,
                {"status": status.value, "finished_at": self.clock(), "claimed_until": None}
                | values,
            )
        if not settled:  # our lease ran out and another replica took the job over
            log.warning("job_lost_lease", kind=job.kind, key=job.key, job_id=str(job.id))


async def list_jobs(
    session: AsyncSession,
    organisation_id: uuid.UUID | None,
    *,
    kind: str | None,
    status: str | None,
    before: uuid.UUID | None,
    limit: int,
) -> Sequence[Job]:
    return await JobRepository(session).list(
        organisation_id, kind=kind, status=status, before=before, limit=limit
    )


async def get_job(
    session: AsyncSession, organisation_id: uuid.UUID | None, job_id: uuid.UUID
) -> Job | None:
    return await JobRepository(session).get(job_id, organisation_id)
