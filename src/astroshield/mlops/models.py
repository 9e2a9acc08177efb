"""The model registry (platform-wide) and the prediction log (per organisation)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow, uuid7


class MLModel(Base):
    """One registered version of a model: its ONNX file, the file's sha256 (a file whose
    bytes differ is never served), the data set it was trained on, its metrics and
    training configuration. At most one version of a name is active (the index below)."""

    __tablename__ = "ml_models"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_ml_models_name_version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    # Relative: to the package's models directory (shipped models); else absolute.
    file_path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    dataset_sha256: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    training_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_by: Mapped[str] = mapped_column(String(64))


# The database refuses a second active version of a name, whatever the code does.
_ACTIVE = MLModel.active.is_(True)
Index(
    "uq_ml_models_one_active",
    MLModel.name,
    unique=True,
    sqlite_where=_ACTIVE,
    postgresql_where=_ACTIVE,
)


class MLPrediction(Base):
    """One answer of an ML endpoint: who asked, which model version answered, a hash of
    the input (not the input itself) and a small summary of the output."""

    __tablename__ = "ml_predictions"
    __table_args__ = (
        Index("ix_ml_predictions_organisation_id", "organisation_id", "id"),
        Index("ix_ml_predictions_created_at", "created_at"),  # retention
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    endpoint: Mapped[str] = mapped_column(String(64))
    input_sha256: Mapped[str] = mapped_column(String(64))
    output_summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
