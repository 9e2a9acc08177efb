"""Retention: what each data class keeps, and a run that deletes the rest in batches.

A dry run counts without deleting. Every real run writes an audit entry with the counts;
pruning the audit log itself also records the new first link of the chain so that
``audit verify`` still proves the remaining entries untouched. A real run also checkpoints
the audit chain before it changes anything and, through ``apply_retention``, once it has
committed: what retention removed and what someone else removed stay distinguishable.

The policies, one per data class, are the owning domains' (``retention.policies``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.notifiers import Notification
from astroshield.audit.checkpoints import CheckpointWriter
from astroshield.audit.service import SYSTEM, Actor, record
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.retention.policies import POLICIES
from astroshield.retention.policy import ClassResult, RetentionRun
from astroshield.retention.repository import RetentionRepository

__all__ = ["ClassResult", "RetentionReport", "apply_retention", "run_retention"]


@dataclass
class RetentionReport:
    dry_run: bool
    ran: bool = True
    classes: list[ClassResult] = field(default_factory=list)
    # Alerts the run resolved, to be sent once its transaction has committed.
    notifications: list[Notification] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(result.affected for result in self.classes)


async def _checkpoint_first(
    session: AsyncSession, settings: Settings, checkpoints: CheckpointWriter | None
) -> None:
    # Before anything is deleted, and before this transaction appends to the chain, so
    # the head checkpointed is a committed one. A run that cannot checkpoint does not
    # prune (CheckpointError).
    writer = checkpoints or CheckpointWriter.from_settings(settings)
    try:
        await writer.write(session, "retention-start")
    finally:
        if writer is not checkpoints:
            writer.close()


async def run_retention(
    session: AsyncSession,
    settings: Settings,
    *,
    dry_run: bool,
    now: datetime | None = None,
    actor: Actor = SYSTEM,
    checkpoints: CheckpointWriter | None = None,
) -> RetentionReport:
    report = RetentionReport(dry_run=dry_run)
    if not await RetentionRepository(session).try_lock():
        report.ran = False  # another replica is running it
        return report
    if not dry_run:
        await _checkpoint_first(session, settings, checkpoints)
    run = RetentionRun(
        session,
        now=now or datetime.now(UTC),
        dry_run=dry_run,
        batch=settings.retention_batch_size,
        actor=actor,
    )
    for policy in POLICIES:
        result = await policy.run(run, settings)
        if result is not None:
            report.classes.append(result)
    report.notifications.extend(run.notifications)
    if not dry_run:
        await record(
            session,
            actor.event("retention.run", counts={r.data_class: r.affected for r in report.classes}),
        )
    return report


async def apply_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    dry_run: bool,
    now: datetime | None = None,
    checkpoints: CheckpointWriter | None = None,
) -> RetentionReport:
    """A retention run in its own transaction, then (once committed) a checkpoint of the
    audit chain it left."""
    writer = checkpoints or CheckpointWriter.from_settings(settings)
    try:
        async with session_scope(sessionmaker) as session:
            report = await run_retention(
                session, settings, dry_run=dry_run, now=now, checkpoints=writer
            )
        if report.ran and not dry_run:
            async with session_scope(sessionmaker) as session:
                await writer.write(session, "retention-end")
    finally:
        if writer is not checkpoints:
            writer.close()
    return report
