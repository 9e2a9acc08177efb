"""All SQL of the registry (platform-wide: no organisation) and of the prediction log (one
organisation's rows only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.mlops.models import MLModel, MLPrediction


class ModelRepository:
    """Registered model versions; platform data, read by everyone, written by platform
    administrators and at start-up (the shipped models)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, *, after_id: uuid.UUID | None, limit: int) -> Sequence[MLModel]:
        statement = select(MLModel).order_by(MLModel.id).limit(limit)
        if after_id is not None:
            statement = statement.where(MLModel.id > after_id)
        return (await self.session.execute(statement)).scalars().all()

    async def get(self, name: str, version: str) -> MLModel | None:
        statement = select(MLModel).where(MLModel.name == name, MLModel.version == version)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def active(self, name: str) -> MLModel | None:
        statement = select(MLModel).where(MLModel.name == name, MLModel.active.is_(True))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def registered(self) -> set[tuple[str, str]]:
        rows = await self.session.execute(select(MLModel.name, MLModel.version))
        return {(name, version) for name, version in rows.all()}

    async def names_with_active(self) -> set[str]:
        rows = await self.session.execute(select(MLModel.name).where(MLModel.active.is_(True)))
        return set(rows.scalars().all())

    async def add(self, model: MLModel) -> MLModel:
        self.session.add(model)
        await self.session.flush()
        return model

    async def add_if_absent(self, model: MLModel) -> bool:
        """Insert unless a row conflicts (the same name and version, or a second active
        version: another replica registering the same shipped file at the same moment);
        whether this one was inserted."""
        values = {
            column.key: getattr(model, column.key)
            for column in MLModel.__table__.columns
            if getattr(model, column.key) is not None
        }
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(MLModel).values(values).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def activate(self, model: MLModel) -> None:
        """``model`` becomes the active version of its name (the previous one first stops
        being active: the partial unique index refuses two at any moment)."""
        await self.session.execute(
            update(MLModel)
            .where(MLModel.name == model.name, MLModel.active.is_(True), MLModel.id != model.id)
            .values(active=False)
        )
        await self.session.execute(
            update(MLModel).where(MLModel.id == model.id).values(active=True)
        )
        await self.session.refresh(model)


class PredictionRepository:
    """One organisation's prediction log; it reads no other organisation's rows."""

    def __init__(self, session: AsyncSession, organisation_id: uuid.UUID) -> None:
        self.session = session
        self.organisation_id = organisation_id

    async def add(self, prediction: MLPrediction) -> None:
        prediction.organisation_id = self.organisation_id
        self.session.add(prediction)
        await self.session.flush()

    async def list(self, *, after_id: uuid.UUID | None, limit: int) -> Sequence[MLPrediction]:
        """Newest first."""
        statement = (
            select(MLPrediction)
            .where(MLPrediction.organisation_id == self.organisation_id)
            .order_by(MLPrediction.id.desc())
            .limit(limit)
        )
        if after_id is not None:
            statement = statement.where(MLPrediction.id < after_id)
        return (await self.session.execute(statement)).scalars().all()


class PredictionRetentionRepository:
    """The prediction log across organisations, for retention only."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count_before(self, before: datetime) -> int:
        statement = select(func.count()).where(MLPrediction.created_at < before)
        return int((await self.session.execute(statement)).scalar_one())

    async def delete_before(self, before: datetime, batch: int) -> int:
        ids = (
            select(MLPrediction.id)
            .where(MLPrediction.created_at < before)
            .order_by(MLPrediction.created_at)
            .limit(batch)
        )
        result = await self.session.execute(
            delete(MLPrediction).where(MLPrediction.id.in_(ids.scalar_subquery()))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
