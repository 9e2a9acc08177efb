from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
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


# Where the health in force comes from (spacecraft.health.HealthSource).
HEALTH_SOURCES = ("telemetry", "override", "report", "none")


class Spacecraft(Base):
    """A spacecraft registered by an organisation.

    The current mode/health are kept on the row (denormalised from the latest status
    report, the open telemetry alarms and the override) so the status endpoint and the
    status filter are one indexed lookup. ``health``/``health_source`` are what was in
    force at the last recompute; an override past ``override_expires_at`` is ignored by
    readers until the next recompute clears it (see ``spacecraft.health``).
    """

    __tablename__ = "spacecraft"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name", name="uq_spacecraft_organisation_name"),
        UniqueConstraint(
            "organisation_id", "catalog_number", name="uq_spacecraft_organisation_catalog_number"
        ),
        CheckConstraint(_in("mode", OperationalMode), name="mode_valid"),
        CheckConstraint(_in("health", HealthState), name="health_valid"),
        CheckConstraint(
            f"health_source IN ({', '.join(repr(s) for s in HEALTH_SOURCES)})",
            name="health_source_valid",
        ),
        CheckConstraint(
            "(override_health IS NULL) = (override_expires_at IS NULL)",
            name="override_complete",
        ),
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
    health_source: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    health_summary: Mapped[str | None] = mapped_column(String(500))
    # The latest plain report's health (used while telemetry does not drive the health).
    reported_health: Mapped[str | None] = mapped_column(String(16))
    # Derived from the open telemetry limit alarms; NULL until a limited parameter has
    # had a sample. ``health_reasons``: those alarms, [{parameter, level, alert_id}].
    telemetry_health: Mapped[str | None] = mapped_column(String(16))
    health_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    override_health: Mapped[str | None] = mapped_column(String(16))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    override_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    override_set_by: Mapped[str | None] = mapped_column(String(64))
    override_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Newest of the latest telemetry sample's time and the reports' last contact.
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    orbit_epoch: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SpacecraftStatusReport(Base):
    """One status report or health change; the history of a spacecraft's state.

    ``source`` says what wrote it (spacecraft.health.HistorySource: an operator's
    ``report`` or ``override``, ``override-cleared``, ``override-expired``, or a
    ``telemetry`` health change); ``reason`` is the override's reason or the alarms
    behind a telemetry change.
    """

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
    source: Mapped[str] = mapped_column(String(32), default="report")
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
