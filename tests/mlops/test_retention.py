"""The prediction log under retention: rows older than ``retention_ml_prediction_days``
go, newer ones stay (dry run counts, real run deletes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select

from astroshield.db import session_scope
from astroshield.mlops.models import MLPrediction
from astroshield.retention.service import run_retention
from tests.conftest import Factory, settings_for


async def test_old_predictions_are_deleted(
    app: FastAPI, database_url: str, factory: Factory
) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    user = await factory.user()

    def prediction(days_old: int) -> MLPrediction:
        return MLPrediction(
            organisation_id=user.organisation_id,
            user_id=user.id,
            model_name="adversary_encoder",
            model_version="0.1.0",
            endpoint="adversary-encoder/score",
            input_sha256="0" * 64,
            output_summary={},
            created_at=now - timedelta(days=days_old),
        )

    async with session_scope(factory.sessionmaker) as session:
        old = [prediction(31), prediction(400)]
        kept = [prediction(29), prediction(1)]
        session.add_all([*old, *kept])
    settings = settings_for(database_url, retention_ml_prediction_days=30)
    async with app.state.sessionmaker() as session, session.begin():
        dry = await run_retention(session, settings, dry_run=True, now=now)
    assert {r.data_class: r.affected for r in dry.classes}["ml_predictions"] == 2
    async with app.state.sessionmaker() as session, session.begin():
        report = await run_retention(session, settings, dry_run=False, now=now)
    assert {r.data_class: r.affected for r in report.classes}["ml_predictions"] == 2
    async with app.state.sessionmaker() as session:
        left = set((await session.execute(select(MLPrediction.id))).scalars().all())
    assert left == {row.id for row in kept}
