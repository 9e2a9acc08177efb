from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.errors import ConflictError, FieldError
from astroshield.organisations.models import Organisation


class OrganisationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organisation_id: uuid.UUID) -> Organisation | None:
        return await self.session.get(Organisation, organisation_id)

    async def get_by_slug(self, slug: str) -> Organisation | None:
        result = await self.session.execute(select(Organisation).where(Organisation.slug == slug))
        return result.scalar_one_or_none()

    async def list(self, *, after_id: uuid.UUID | None, limit: int) -> Sequence[Organisation]:
        statement = select(Organisation).order_by(Organisation.id).limit(limit)
        if after_id is not None:
            statement = statement.where(Organisation.id > after_id)
        return (await self.session.execute(statement)).scalars().all()

    async def add(self, organisation: Organisation) -> Organisation:
        self.session.add(organisation)
        try:
            await self.session.flush()
        except IntegrityError:
            raise ConflictError(
                f"an organisation with slug {organisation.slug!r} exists",
                errors=[FieldError(["body", "slug"], "already taken")],
            ) from None
        return organisation
