from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.errors import ConflictError, FieldError
from astroshield.security.scopes import Role
from astroshield.users.models import User


class UserRepository:
    """Every read is scoped to one organisation: another organisation's user is simply
    not found (no 403 that would confirm it exists)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID, *, organisation_id: uuid.UUID | None) -> User | None:
        statement = select(User).where(User.id == user_id)
        if organisation_id is not None:
            statement = statement.where(User.organisation_id == organisation_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_by_email_index(self, email_index: str) -> User | None:
        statement = select(User).where(User.email_index == email_index)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def lock_active_platform_admins(self) -> Sequence[User]:
        """The accounts that keep the platform manageable (platform flag, active, admin
        role), locked to the end of the transaction (SELECT ... FOR UPDATE on PostgreSQL;
        SQLite serialises writers itself). A transaction that waited for the lock sees what
        the other one committed: two administrators demoting each other cannot both pass a
        "someone else remains" check."""
        statement = (
            select(User)
            .where(
                User.is_platform_admin.is_(True),
                User.is_active.is_(True),
                User.role == Role.ADMIN.value,
            )
            .order_by(User.id)  # one lock order for every caller: no deadlock between them
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def list(
        self, organisation_id: uuid.UUID, *, after_id: uuid.UUID | None, limit: int
    ) -> Sequence[User]:
        statement = (
            select(User)
            .where(User.organisation_id == organisation_id)
            .order_by(User.id)
            .limit(limit)
        )
        if after_id is not None:
            statement = statement.where(User.id > after_id)
        return (await self.session.execute(statement)).scalars().all()

    async def flush(self, user: User) -> User:
        self.session.add(user)
        try:
            await self.session.flush()
        except IntegrityError:
            raise ConflictError(
                "a user with this e-mail exists",
                errors=[FieldError(["body", "email"], "already registered")],
            ) from None
        return user

    async def iterate_with_pii(self, batch_size: int = 500) -> AsyncIterator[Sequence[User]]:
        """Batches of users that hold encrypted fields, in id order (key rotation)."""
        after: uuid.UUID | None = None
        while True:
            statement = (
                select(User).where(User.pii_erased_at.is_(None)).order_by(User.id).limit(batch_size)
            )
            if after is not None:
                statement = statement.where(User.id > after)
            batch = (await self.session.execute(statement)).scalars().all()
            if not batch:
                return
            yield batch
            after = batch[-1].id

    async def inactive_with_pii(self, deactivated_before: datetime, batch: int) -> Sequence[User]:
        """Deactivated before ``deactivated_before`` and not yet erased (retention)."""
        statement = (
            select(User)
            .where(*_inactive_with_pii(deactivated_before))
            .order_by(User.id)
            .limit(batch)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def count_inactive_with_pii(self, deactivated_before: datetime) -> int:
        statement = select(func.count()).where(*_inactive_with_pii(deactivated_before))
        return int((await self.session.execute(statement)).scalar_one())


def _inactive_with_pii(deactivated_before: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        User.is_active.is_(False),
        User.deactivated_at < deactivated_before,
        User.pii_erased_at.is_(None),
    )
