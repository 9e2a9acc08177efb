from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow, uuid7

ALERT_STATUSES = ("inactive", "pending", "firing", "acknowledged", "resolved")
SEVERITIES = ("info", "warning", "critical")


class AlertRule(Base):
    """A rule on one metric. ``organisation_id`` NULL marks a platform rule (service
    health: error rate, latency, resources, database), seen by platform admins only."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        CheckConstraint("comparison IN ('above', 'below')", name="comparison_valid"),
        CheckConstraint("for_s >= 0", name="for_non_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(128))
    comparison: Mapped[str] = mapped_column(String(8))
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON)
    clear_threshold: Mapped[float] = mapped_column(Float)
    for_s: Mapped[float] = mapped_column(Float, default=0.0)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    builtin: Mapped[bool] = mapped_column(default=False)
    # Latching: a fired alert stays until acknowledged, even once the value is back.
    latching: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Alert(Base):
    """The current state of one rule for one label set (deduplicated by ``dedup_key``)."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(f"status IN {ALERT_STATUSES!r}", name="status_valid"),
        Index("ix_alerts_organisation_status", "organisation_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="inactive")
    severity: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_comment: Mapped[str | None] = mapped_column(String(1000))
    shelved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AlertEvent(Base):
    """History: every change of every alert, in order (also what the stream replays)."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert_id_id", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    change: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(String(1000))


class DeadLetter(Base):
    """A notification that could not be delivered after its retries."""

    __tablename__ = "notification_dead_letters"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    notifier: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    notification_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
