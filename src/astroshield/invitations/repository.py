from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.invitations.models import Invitation


class InvitationRepository:
    """Reads by id are scoped to one organisation; only the token finds an invitation
    across organisations (that is how its invitee, who has no account yet, gets to it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def get(
        self, invitation_id: uuid.UUID, *, organisation_id: uuid.UUID
    ) -> Invitation | None:
        statement = select(Invitation).where(
            Invitation.id == invitation_id, Invitation.organisation_id == organisation_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        statement = select(Invitation).where(Invitation.token_hash == token_hash)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list(
        self, organisation_id: uuid.UUID, *, after_id: uuid.UUID | None, limit: int
    ) -> Sequence[Invitation]:
        statement = (
            select(Invitation)
            .where(Invitation.organisation_id == organisation_id)
            .order_by(Invitation.id)
            .limit(limit)
        )
        if after_id is not None:
            statement = statement.where(Invitation.id > after_id)
        return (await self.session.execute(statement)).scalars().all()

    async def revoke_pending(
        self, organisation_id: uuid.UUID, email_index: str, *, now: datetime
    ) -> int:
        """Revoke the organisation's open invitations of one address (a new one replaces
        them: one usable token per address and organisation)."""
        result = await self.session.execute(
            update(Invitation)
            .where(
                Invitation.organisation_id == organisation_id,
                Invitation.email_index == email_index,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(revoked_at=now, email_index=None, email_ciphertext=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def claim(self, invitation_id: uuid.UUID, *, now: datetime) -> bool:
        """Mark the invitation used if it still is usable: a conditional UPDATE, so of two
        concurrent acceptances exactly one gets it."""
        result = await self.session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(accepted_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    async def link_account(self, invitation_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """The account now holds the address: the invitation keeps no copy of it."""
        await self.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id)
            .values(user_id=user_id, email_index=None, email_ciphertext=None)
            .execution_options(synchronize_session=False)
        )

    async def iterate_with_pii(self, batch_size: int = 500) -> AsyncIterator[Sequence[Invitation]]:
        """Batches of invitations that hold an encrypted address, in id order (key rotation)."""
        after: uuid.UUID | None = None
        while True:
            statement = (
                select(Invitation)
                .where(Invitation.email_ciphertext.is_not(None))
                .order_by(Invitation.id)
                .limit(batch_size)
            )
            if after is not None:
                statement = statement.where(Invitation.id > after)
            batch = (await self.session.execute(statement)).scalars().all()
            if not batch:
                return
            yield batch
            after = batch[-1].id

    async def count_expired(self, before: datetime) -> int:
        statement = select(func.count()).where(Invitation.expires_at < before)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_expired(self, before: datetime, batch: int) -> int:
        ids = select(Invitation.id).where(Invitation.expires_at < before).limit(batch)
        result = await self.session.execute(delete(Invitation).where(Invitation.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]
