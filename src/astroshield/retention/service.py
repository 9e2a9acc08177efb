"""Retention: what each data class keeps, and a run that deletes the rest in batches.

A dry run counts without deleting. Every real run writes an audit entry with the counts;
pruning the audit log itself also records the new first link of the chain so that
``audit verify`` still proves the remaining entries untouched. A real run also checkpoints
the audit chain before it changes anything and, through ``apply_retention``, once it has
committed: what retention removed and what someone else removed stay distinguishable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.notifiers import Notification
from astroshield.audit.checkpoints import CheckpointWriter
from astroshield.audit.service import PRUNE_ACTION, SYSTEM, Actor, record
from astroshield.auth.repository import AuthRepository
from astroshield.config import Settings
from astroshield.conjunction.service.alerting import close_passed_conjunctions
from astroshield.db import session_scope
from astroshield.retention.repository import RetentionRepository
from astroshield.telemetry.service import reduce_minute_aggregates, reduce_raw_samples
from astroshield.users.service import erase_pii


@dataclass(frozen=True)
class ClassResult:
    data_class: str
    keep_days: int
    cutoff: datetime | None
    affected: int


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


def _cutoff(now: datetime, days: int) -> datetime | None:
    return None if days == 0 else now - timedelta(days=days)


async def _drain(delete_batch: Callable[[int], Awaitable[int]], batch: int) -> int:
    """Delete in batches until a batch comes back short: bounded locks and memory."""
    total = 0
    while True:
        deleted = await delete_batch(batch)
        total += deleted
        if deleted < batch:
            return total


async def run_retention(
    session: AsyncSession,
    settings: Settings,
    *,
    dry_run: bool,
    now: datetime | None = None,
    actor: Actor = SYSTEM,
    checkpoints: CheckpointWriter | None = None,
) -> RetentionReport:
    now = now or datetime.now(UTC)
    repository = RetentionRepository(session)
    report = RetentionReport(dry_run=dry_run)
    if not await repository.try_lock():
        report.ran = False  # another replica is running it
        return report
    if not dry_run:
        # Before anything is deleted, and before this transaction appends to the chain,
        # so the head checkpointed is a committed one. A run that cannot checkpoint
        # does not prune (CheckpointError).
        writer = checkpoints or CheckpointWriter.from_settings(settings)
        try:
            await writer.write(session, "retention-start")
        finally:
            if writer is not checkpoints:
                writer.close()
    batch = settings.retention_batch_size

    async def delete_rows(
        name: str,
        days: int,
        count: Callable[[datetime], Awaitable[int]],
        delete: Callable[[datetime, int], Awaitable[int]],
    ) -> None:
        """A class whose rows older than ``days`` are simply deleted, in batches."""
        cutoff = _cutoff(now, days)
        if cutoff is not None:
            affected = (
                await count(cutoff) if dry_run else await _drain(partial(delete, cutoff), batch)
            )
            report.classes.append(ClassResult(name, days, cutoff, affected))

    await delete_rows(
        "status_history",
        settings.retention_status_history_days,
        repository.count_status_reports,
        repository.delete_status_reports,
    )

    cutoff = _cutoff(now, settings.telemetry_raw_retention_days)
    if cutoff is not None:
        affected = await reduce_raw_samples(session, cutoff, dry_run=dry_run)
        report.classes.append(
            ClassResult(
                "telemetry_raw_samples", settings.telemetry_raw_retention_days, cutoff, affected
            )
        )

    # After the raw reduction, so that minutes it just wrote past this cutoff fold too.
    cutoff = _cutoff(now, settings.telemetry_minute_retention_days)
    if cutoff is not None:
        affected = await reduce_minute_aggregates(session, cutoff, dry_run=dry_run)
        report.classes.append(
            ClassResult(
                "telemetry_minute_aggregates",
                settings.telemetry_minute_retention_days,
                cutoff,
                affected,
            )
        )

    cutoff = _cutoff(now, settings.retention_inactive_user_pii_days)
    if cutoff is not None:
        if dry_run:
            affected = await repository.count_users_to_erase(cutoff)
        else:
            affected = 0
            while users := await repository.users_to_erase(cutoff, batch):
                for user in users:
                    erase_pii(user, now=now)
                await session.flush()
                affected += len(users)
        report.classes.append(
            ClassResult(
                "inactive_user_pii", settings.retention_inactive_user_pii_days, cutoff, affected
            )
        )

    # An invitation holds an e-mail address until it is accepted or revoked; the audit
    # log keeps its story after the row is gone.
    await delete_rows(
        "invitations",
        settings.retention_invitation_days,
        repository.count_invitations,
        repository.delete_invitations,
    )

    affected = (
        await repository.count_expired_tokens(now)
        if dry_run
        else await AuthRepository(session).purge_expired(now=now)
    )
    report.classes.append(ClassResult("expired_tokens", 0, now, affected))

    # Not a deletion: conjunctions whose TCA has passed are closed and their alerts resolved.
    affected, resolved = await close_passed_conjunctions(session, now, dry_run=dry_run)
    report.notifications.extend(resolved)
    report.classes.append(ClassResult("conjunction_events_past_tca", 0, now, affected))

    cutoff = _cutoff(now, settings.retention_audit_days)
    if cutoff is not None:
        boundary = await repository.audit_prune_boundary(cutoff)
        if boundary is None:
            affected = 0
        elif dry_run:
            affected = await repository.count_audit(boundary)
        else:
            affected = await _drain(partial(repository.delete_audit, boundary), batch)
            if affected:
                await record(
                    session,
                    actor.event(
                        PRUNE_ACTION,
                        anchor_hash=await repository.first_audit_link(),
                        deleted=affected,
                        cutoff=cutoff.isoformat(),
                    ),
                )
        report.classes.append(
            ClassResult("audit_log", settings.retention_audit_days, cutoff, affected)
        )

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
