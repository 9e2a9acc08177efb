"""What a retention policy is: a data class, its age limit, and what a run does to it.

The policies themselves are published by the domains that own the data (each in its
``<domain>/retention.py``, or its service) and listed, in the order they run, in
``astroshield.retention.policies``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.notifiers import Notification
from astroshield.audit.service import Actor
from astroshield.config import Settings


@dataclass(frozen=True)
class ClassResult:
    data_class: str
    keep_days: int
    cutoff: datetime | None
    affected: int


@dataclass
class RetentionRun:
    """One run's context, handed to every policy."""

    session: AsyncSession
    now: datetime
    dry_run: bool
    batch: int
    actor: Actor
    # Alerts the run resolved, to be sent once its transaction has committed.
    notifications: list[Notification] = field(default_factory=list)

    async def drain(self, delete_batch: Callable[[int], Awaitable[int]]) -> int:
        """Delete in batches until a batch comes back short: bounded locks and memory."""
        total = 0
        while True:
            deleted = await delete_batch(self.batch)
            total += deleted
            if deleted < self.batch:
                return total


# Counts what it would affect on a dry run, acts otherwise; returns how many rows.
Apply = Callable[[RetentionRun, datetime], Awaitable[int]]


@dataclass(frozen=True)
class RetentionPolicy:
    data_class: str
    apply: Apply
    # The age limit in days (0 keeps forever, and the class is skipped). None: the class
    # acts on what is already past at the time of the run (expired tokens, passed TCAs).
    keep_days: Callable[[Settings], int] | None = None

    async def run(self, run: RetentionRun, settings: Settings) -> ClassResult | None:
        if self.keep_days is None:
            days, cutoff = 0, run.now
        else:
            days = self.keep_days(settings)
            if days == 0:
                return None
            cutoff = run.now - timedelta(days=days)
        return ClassResult(self.data_class, days, cutoff, await self.apply(run, cutoff))


def batched(
    count: Callable[[AsyncSession, datetime], Awaitable[int]],
    delete_batch: Callable[[AsyncSession, datetime, int], Awaitable[int]],
) -> Apply:
    """The policy of a class whose rows older than the cutoff are simply deleted:
    ``count`` counts them, ``delete_batch`` deletes up to a batch of them."""

    async def apply(run: RetentionRun, cutoff: datetime) -> int:
        if run.dry_run:
            return await count(run.session, cutoff)
        return await run.drain(lambda batch: delete_batch(run.session, cutoff, batch))

    return apply
