from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.features.models import OrganisationFeatureFlag, PlatformFeatureFlag


class PlatformFlagRepository:
    """The platform-wide flag values (no organisation: platform data)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> dict[str, bool]:
        rows = (await self.session.execute(select(PlatformFeatureFlag))).scalars().all()
        return {row.key: row.enabled for row in rows}

    async def put(self, key: str, enabled: bool | None, *, by: str | None) -> None:
        """Set the value, or remove it (``None``: back to the default)."""
        row = await self.session.get(PlatformFeatureFlag, key)
        if enabled is None:
            if row is not None:
                await self.session.delete(row)
        elif row is None:
            self.session.add(PlatformFeatureFlag(key=key, enabled=enabled, updated_by=by))
        else:
            row.enabled, row.updated_by = enabled, by
        await self.session.flush()

    async def every_organisation(self) -> dict[uuid.UUID, dict[str, bool]]:
        """Every organisation's overrides, for the replica's in-memory copy (the provider
        resolves per organisation without a query)."""
        rows = (await self.session.execute(select(OrganisationFeatureFlag))).scalars().all()
        overrides: defaultdict[uuid.UUID, dict[str, bool]] = defaultdict(dict)
        for row in rows:
            overrides[row.organisation_id][row.key] = row.enabled
        return dict(overrides)


class OrganisationFlagRepository:
    """One organisation's overrides; it reads and writes no other organisation's."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    async def all(self) -> dict[str, bool]:
        statement = select(OrganisationFeatureFlag).where(
            OrganisationFeatureFlag.organisation_id == self.organisation_id
        )
        rows = (await self.session.execute(statement)).scalars().all()
        return {row.key: row.enabled for row in rows}

    async def put(self, key: str, enabled: bool | None, *, by: str | None) -> None:
        """Set the override, or remove it (``None``: back to the platform's value)."""
        if enabled is None:
            await self.session.execute(
                delete(OrganisationFeatureFlag).where(
                    OrganisationFeatureFlag.organisation_id == self.organisation_id,
                    OrganisationFeatureFlag.key == key,
                )
            )
            return
        row = await self.session.get(OrganisationFeatureFlag, (self.organisation_id, key))
        if row is None:
            self.session.add(
                OrganisationFeatureFlag(
                    organisation_id=self.organisation_id, key=key, enabled=enabled, updated_by=by
                )
            )
        else:
            row.enabled, row.updated_by = enabled, by
        await self.session.flush()
