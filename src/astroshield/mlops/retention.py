"""The ML prediction log under retention: rows are kept ``retention_ml_prediction_days``
(who asked which model version what, for audit of the answers), then deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.mlops.repository import PredictionRetentionRepository


async def count_old(session: AsyncSession, before: datetime) -> int:
    return await PredictionRetentionRepository(session).count_before(before)


async def delete_old(session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete up to ``batch`` predictions made before ``before``."""
    return await PredictionRetentionRepository(session).delete_before(before, batch)
