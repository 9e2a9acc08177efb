from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow, uuid7


class OperationalMode(StrEnum):
    UNKNOWN = "unknown"
    COMMISSIONING = "commissioning"
    OPERATIONAL = "operational"
    STANDBY = "standby"
    SAFE_MODE = "safe_mode"
    MANEUVERING = "maneuvering"
    DECOMMISSIONED = "decommissioned"


class HealthState(StrEnum):
    UNKNOWN = "unknown"
    NOMINAL = "nominal"
    DEGRADED = "degraded"
    CRITICAL = "critical"


# The largest spacecraft, the ISS, spans about 110 m; a larger radius is a unit mistake.
MAX_HARD_BODY_RADIUS_M = 500.0


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


class Spacecraft(Base):
    """A spacecraft registered by an organisation.

    The current mode/health are kept on the row (denormalised from the latest status
    report) so the status endpoint and the status filter are one indexed lookup.
    """

    __tablename__ = "spacecraft"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name", name="uq_spacecraft_organisation_name"),
        UniqueConstraint(
            "organisation_id", "catalog_number", name="uq_spacecraft_organisation_catalog_number"
        ),
        CheckConstraint(_in("mode", OperationalMode), name="mode_valid"),
        CheckConstraint(_in("health", HealthState), name="health_valid"),
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
        CheckConstraint(
            "hard_body_radius_m IS NULL OR "
            f"(hard_body_radius_m > 0 AND hard_body_radius_m <= {MAX_HARD_BODY_RADIUS_M})",
            name="hard_body_radius_valid",
        ),
        Index("ix_spacecraft_organisation_id_mode", "organisation_id", "mode"),
        Index("ix_spacecraft_catalog_number", "catalog_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(128))
    catalog_number: Mapped[str | None] = mapped_column(String(9))
    cospar_id: Mapped[str | None] = mapped_column(String(12))
    description: Mapped[str | None] = mapped_column(Text)
    # The radius (m) of the sphere that encloses this spacecraft, for Pc (see
    # astro.conjunction.hard_body for how it is combined with the secondary's).
    hard_body_radius_m: Mapped[float | None] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(24), default=OperationalMode.UNKNOWN.value)
    health: Mapped[str] = mapped_column(String(16), default=HealthState.UNKNOWN.value)
    health_summary: Mapped[str | None] = mapped_column(String(500))
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    orbit_epoch: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SpacecraftStatusReport(Base):
    """One status report; the history of a spacecraft's operational state."""

    __tablename__ = "spacecraft_status_reports"
    __table_args__ = (
        CheckConstraint(_in("mode", OperationalMode), name="mode_valid"),
        CheckConstraint(_in("health", HealthState), name="health_valid"),
        Index("ix_spacecraft_status_reports_spacecraft_reported", "spacecraft_id", "reported_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spacecraft.id", ondelete="CASCADE")
    )
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(24))
    health: Mapped[str] = mapped_column(String(16))
    health_summary: Mapped[str | None] = mapped_column(String(500))
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    orbit_epoch: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
