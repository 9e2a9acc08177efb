from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.runtime_config.models import OrganisationSetting, RuntimeSetting


class RuntimeConfigRepository:
    """Platform-wide overrides (``runtime_settings``) and per-organisation overrides
    (``organisation_settings``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> dict[str, Any]:
        """The platform-wide overrides."""
        rows = (await self.session.execute(select(RuntimeSetting))).scalars().all()
        return {row.key: row.value for row in rows}

    async def put(self, key: str, value: Any, *, by: str | None) -> None:
        row = await self.session.get(RuntimeSetting, key)
        if row is None:
            self.session.add(RuntimeSetting(key=key, value=value, updated_by=by))
        else:
            row.value, row.updated_by = value, by
        await self.session.flush()

    async def remove(self, key: str) -> None:
        await self.session.execute(delete(RuntimeSetting).where(RuntimeSetting.key == key))

    async def of_organisation(self, organisation_id: uuid.UUID) -> dict[str, Any]:
        statement = select(OrganisationSetting).where(
            OrganisationSetting.organisation_id == organisation_id
        )
        rows = (await self.session.execute(statement)).scalars().all()
        return {row.key: row.value for row in rows}

    async def every_organisation(self) -> dict[uuid.UUID, dict[str, Any]]:
        rows = (await self.session.execute(select(OrganisationSetting))).scalars().all()
        overrides: defaultdict[uuid.UUID, dict[str, Any]] = defaultdict(dict)
        for row in rows:
            overrides[row.organisation_id][row.key] = row.value
        return dict(overrides)

    async def put_for_organisation(
        self, organisation_id: uuid.UUID, key: str, value: Any, *, by: str | None
    ) -> None:
        row = await self.session.get(OrganisationSetting, (organisation_id, key))
        if row is None:
            self.session.add(
                OrganisationSetting(
                    organisation_id=organisation_id, key=key, value=value, updated_by=by
                )
            )
        else:
            row.value, row.updated_by = value, by
        await self.session.flush()

    async def remove_for_organisation(self, organisation_id: uuid.UUID, key: str) -> None:
        await self.session.execute(
            delete(OrganisationSetting).where(
                OrganisationSetting.organisation_id == organisation_id,
                OrganisationSetting.key == key,
            )
        )
