"""Every retention policy, in the order a run applies them.

Each data class's policy is the owning domain's: this module only adapts what the domain
publishes (its ``retention`` module or service) to :class:`RetentionPolicy` and fixes the
order, which matters where one class feeds another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit import retention as audit
from astroshield.auth import retention as auth
from astroshield.conjunction.service.alerting import close_passed_conjunctions
from astroshield.events import retention as outbox
from astroshield.invitations import retention as invitations
from astroshield.mlops import retention as ml_predictions
from astroshield.retention.policy import RetentionPolicy, RetentionRun, batched
from astroshield.retention.repository import RetentionRepository
from astroshield.spacecraft.retention import STATUS_HISTORY_AGE, STATUS_HISTORY_KEY
from astroshield.telemetry.reductions import reduce_minute_aggregates, reduce_raw_samples
from astroshield.users import retention as users
from astroshield.webhooks import retention as webhook_deliveries


async def _count_status_history(session: AsyncSession, before: datetime) -> int:
    return await RetentionRepository(session).count_older(STATUS_HISTORY_AGE, before)


async def _delete_status_history(session: AsyncSession, before: datetime, batch: int) -> int:
    return await RetentionRepository(session).delete_older(
        STATUS_HISTORY_KEY, STATUS_HISTORY_AGE, before, batch
    )


async def _raw_samples(run: RetentionRun, cutoff: datetime) -> int:
    return await reduce_raw_samples(run.session, cutoff, dry_run=run.dry_run)


async def _minute_aggregates(run: RetentionRun, cutoff: datetime) -> int:
    return await reduce_minute_aggregates(run.session, cutoff, dry_run=run.dry_run)


async def _inactive_user_pii(run: RetentionRun, cutoff: datetime) -> int:
    if run.dry_run:
        return await users.count_inactive_pii(run.session, cutoff)
    return await users.erase_inactive_pii(run.session, cutoff, now=run.now, batch=run.batch)


async def _expired_tokens(run: RetentionRun, now: datetime) -> int:
    if run.dry_run:
        return await auth.count_expired_tokens(run.session, now)
    return await auth.purge_expired_tokens(run.session, now)


async def _passed_conjunctions(run: RetentionRun, now: datetime) -> int:
    closed, resolved = await close_passed_conjunctions(run.session, now, dry_run=run.dry_run)
    run.notifications.extend(resolved)
    return closed


async def _audit_log(run: RetentionRun, cutoff: datetime) -> int:
    return await audit.prune(
        run.session, cutoff, dry_run=run.dry_run, batch=run.batch, actor=run.actor
    )


POLICIES: tuple[RetentionPolicy, ...] = (
    RetentionPolicy(
        "status_history",
        batched(_count_status_history, _delete_status_history),
        keep_days=lambda settings: settings.retention_status_history_days,
    ),
    RetentionPolicy(
        "telemetry_raw_samples",
        _raw_samples,
        keep_days=lambda settings: settings.telemetry_raw_retention_days,
    ),
    # After the raw reduction, so that minutes it just wrote past this cutoff fold too.
    RetentionPolicy(
        "telemetry_minute_aggregates",
        _minute_aggregates,
        keep_days=lambda settings: settings.telemetry_minute_retention_days,
    ),
    RetentionPolicy(
        "inactive_user_pii",
        _inactive_user_pii,
        keep_days=lambda settings: settings.retention_inactive_user_pii_days,
    ),
    RetentionPolicy(
        "invitations",
        batched(invitations.count_expired, invitations.delete_expired),
        keep_days=lambda settings: settings.retention_invitation_days,
    ),
    RetentionPolicy(
        "ml_predictions",
        batched(ml_predictions.count_old, ml_predictions.delete_old),
        keep_days=lambda settings: settings.retention_ml_prediction_days,
    ),
    RetentionPolicy("expired_tokens", _expired_tokens),
    # Not a deletion: conjunctions whose TCA has passed are closed and their alerts resolved.
    RetentionPolicy("conjunction_events_past_tca", _passed_conjunctions),
    # Deliveries before the events they point to, so a listed delivery's event still exists.
    RetentionPolicy(
        "webhook_deliveries",
        batched(webhook_deliveries.count_finished, webhook_deliveries.delete_finished),
        keep_days=lambda settings: settings.retention_webhook_delivery_days,
    ),
    RetentionPolicy(
        "outbox_events",
        batched(outbox.count_published, outbox.delete_published),
        keep_days=lambda settings: settings.retention_outbox_days,
    ),
    RetentionPolicy(
        "audit_log", _audit_log, keep_days=lambda settings: settings.retention_audit_days
    ),
)
