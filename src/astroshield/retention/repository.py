from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.models import AuditEntry
from astroshield.auth.models import RefreshToken, RevokedAccessToken
from astroshield.invitations.models import Invitation
from astroshield.spacecraft.models import SpacecraftStatusReport
from astroshield.users.models import User

_RETENTION_LOCK_KEY = 0x52455445  # "RETE"


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_lock(self) -> bool:
        """One retention run at a time across replicas (PostgreSQL); SQLite has one node."""
        if self.session.get_bind().dialect.name != "postgresql":
            return True
        result = await self.session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _RETENTION_LOCK_KEY}
        )
        return bool(result.scalar())

    async def count_status_reports(self, before: datetime) -> int:
        statement = select(func.count()).where(SpacecraftStatusReport.reported_at < before)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_status_reports(self, before: datetime, batch: int) -> int:
        ids = (
            select(SpacecraftStatusReport.id)
            .where(SpacecraftStatusReport.reported_at < before)
            .limit(batch)
        )
        result = await self.session.execute(
            delete(SpacecraftStatusReport).where(SpacecraftStatusReport.id.in_(ids))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def audit_prune_boundary(self, before: datetime) -> int | None:
        """Id of the oldest audit entry retention keeps: everything below it goes.

        The first entry at or after the cutoff, so that what remains is an unbroken tail
        even if clocks put an older timestamp after a newer one; and never past the newest
        entry, so that the chain (and its sequence numbers) continues from it.
        """
        kept = select(func.min(AuditEntry.id)).where(AuditEntry.occurred_at >= before)
        boundary = (await self.session.execute(kept)).scalar_one_or_none()
        if boundary is None:
            newest = select(func.max(AuditEntry.id))
            boundary = (await self.session.execute(newest)).scalar_one_or_none()
        return boundary

    async def count_audit(self, below_id: int) -> int:
        statement = select(func.count()).where(AuditEntry.id < below_id)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_audit(self, below_id: int, batch: int) -> int:
        # Oldest first, by id, so what remains is always an unbroken tail of the chain.
        ids = (
            select(AuditEntry.id)
            .where(AuditEntry.id < below_id)
            .order_by(AuditEntry.id)
            .limit(batch)
        )
        result = await self.session.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def first_audit_link(self) -> str | None:
        statement = select(AuditEntry.previous_hash).order_by(AuditEntry.id).limit(1)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def users_to_erase(self, deactivated_before: datetime, batch: int) -> Sequence[User]:
        statement = (
            select(User)
            .where(
                User.is_active.is_(False),
                User.deactivated_at < deactivated_before,
                User.pii_erased_at.is_(None),
            )
            .order_by(User.id)
            .limit(batch)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def count_users_to_erase(self, deactivated_before: datetime) -> int:
        statement = select(func.count()).where(
            User.is_active.is_(False),
            User.deactivated_at < deactivated_before,
            User.pii_erased_at.is_(None),
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def count_expired_tokens(self, now: datetime) -> int:
        refresh = select(func.count()).where(RefreshToken.expires_at < now)
        revoked = select(func.count()).where(RevokedAccessToken.expires_at < now)
        return int((await self.session.execute(refresh)).scalar_one()) + int(
            (await self.session.execute(revoked)).scalar_one()
        )

    async def count_invitations(self, expired_before: datetime) -> int:
        statement = select(func.count()).where(Invitation.expires_at < expired_before)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_invitations(self, expired_before: datetime, batch: int) -> int:
        ids = select(Invitation.id).where(Invitation.expires_at < expired_before).limit(batch)
        result = await self.session.execute(delete(Invitation).where(Invitation.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]
