from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.runtime_config.models import RuntimeSetting


class RuntimeConfigRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> dict[str, Any]:
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
