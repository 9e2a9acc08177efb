"""Telemetry limit sets (operator-editable, per parameter) and the running violation state.

A limit set is mirrored by one latching alert rule (``alert_rule_id``), so limit alarms
share the alert lifecycle: acknowledge, shelve, history, notifications.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow


class TelemetryLimitSet(Base):
    __tablename__ = "telemetry_limit_sets"
    __table_args__ = (CheckConstraint("min_violations >= 1", name="min_violations_positive"),)

    parameter_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("telemetry_parameters.id", ondelete="CASCADE"), primary_key=True
    )
    # level -> {"low": float | None, "high": float | None}: the acceptable range
    ranges: Mapped[dict[str, dict[str, float | None]]] = mapped_column(JSON)
    min_violations: Mapped[int] = mapped_column(Integer, default=1)
    enabled: Mapped[bool] = mapped_column(default=True)
    alert_rule_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("alert_rules.id", ondelete="SET NULL")
    )
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TelemetryLimitState(Base):
    """Where a parameter stands against its limits, carried from one batch to the next."""

    __tablename__ = "telemetry_limit_state"

    parameter_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("telemetry_parameters.id", ondelete="CASCADE"), primary_key=True
    )
    consecutive_violations: Mapped[int] = mapped_column(Integer, default=0)
    last_level: Mapped[str | None] = mapped_column(String(16))
    last_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
