from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from astroshield.db import try_transaction_lock

_RETENTION_LOCK_KEY = 0x52455445  # "RETE"


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_lock(self) -> bool:
        """One retention run at a time across replicas (PostgreSQL); SQLite has one node."""
        return await try_transaction_lock(self.session, _RETENTION_LOCK_KEY)

    async def count_older(self, age: InstrumentedAttribute[datetime], before: datetime) -> int:
        """Rows of ``age``'s table whose ``age`` is before ``before``."""
        statement = select(func.count()).where(age < before)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_older(
        self,
        key: InstrumentedAttribute[uuid.UUID],
        age: InstrumentedAttribute[datetime],
        before: datetime,
        batch: int,
    ) -> int:
        """Delete up to ``batch`` rows whose ``age`` is before ``before``, by ``key``."""
        ids = select(key).where(age < before).limit(batch)
        result = await self.session.execute(delete(key.class_).where(key.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]
