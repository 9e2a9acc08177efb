"""Telemetry archive: the parameter dictionary, raw samples, ingested batches and
minute and hour aggregates.

Samples are keyed by a compact integer parameter id (the spacecraft is implied by the
parameter), so a row is (4-byte id, timestamp, double) and the primary key
(parameter_id, time) is the index every range and bucket query walks. Samples and
aggregates carry no foreign key (a per-row check costs as much as the COPY itself); a
trigger deletes them with their parameter instead. On PostgreSQL a
BRIN index on time serves the retention job's "everything older than" scans at a tiny
fraction of a btree's size, because samples arrive roughly in time order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow
from astroshield.telemetry.samples import ParameterType


class TelemetryParameter(Base):
    __tablename__ = "telemetry_parameters"
    __table_args__ = (
        UniqueConstraint("spacecraft_id", "name", name="uq_telemetry_parameters_spacecraft_name"),
        CheckConstraint(
            f"type IN ({', '.join(repr(t.value) for t in ParameterType)})", name="type_valid"
        ),
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
        # Ids are never reused (PostgreSQL sequences never are): samples name their
        # parameter by id.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("spacecraft.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    valid_min: Mapped[float | None] = mapped_column(Double)
    valid_max: Mapped[float | None] = mapped_column(Double)
    # Enumerated parameters: raw code (as a string key, JSON objects have no int keys)
    # to label. Samples store the code.
    enum_labels: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TelemetryDefinition(Base):
    """The XTCE document a spacecraft's packets are decoded with."""

    __tablename__ = "telemetry_definitions"

    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("spacecraft.id", ondelete="CASCADE"), primary_key=True
    )
    xtce: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TelemetrySample(Base):
    __tablename__ = "telemetry_samples"
    __table_args__ = (
        Index(
            "ix_telemetry_samples_time",
            "time",
            postgresql_using="brin",
        ),
    )

    # No foreign key: its per-row check would double the cost of every COPY. The ids come
    # from the spacecraft's dictionary in the same transaction, and a trigger on
    # telemetry_parameters (see the migration) deletes a parameter's samples with it.
    parameter_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value: Mapped[float] = mapped_column(Double)


class TelemetryBatch(Base):
    """One accepted ingest batch. Its unique keys make a retried batch land on this row
    instead of storing its samples twice; it is written in the samples' transaction, so
    neither can exist without the other."""

    __tablename__ = "telemetry_batches"
    __table_args__ = (
        UniqueConstraint(
            "spacecraft_id", "source_id", "sequence", name="uq_telemetry_batches_source_sequence"
        ),
        UniqueConstraint(
            "spacecraft_id", "idempotency_key", name="uq_telemetry_batches_idempotency_key"
        ),
        CheckConstraint(
            "(source_id IS NOT NULL AND sequence IS NOT NULL) OR idempotency_key IS NOT NULL",
            name="has_key",
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("spacecraft.id", ondelete="CASCADE")
    )
    source_id: Mapped[str | None] = mapped_column(String(128))
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # A retry must carry the same body; a reused key with other content is refused.
    payload_sha256: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AggregateColumns:
    """The columns minute and hour aggregates share: one row summarises a parameter's
    samples in [bucket_start, bucket_start + bucket length)."""

    parameter_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # as on samples
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    min: Mapped[float] = mapped_column(Double)
    max: Mapped[float] = mapped_column(Double)
    avg: Mapped[float] = mapped_column(Double)
    count: Mapped[int] = mapped_column(Integer)


class TelemetryAggregate(AggregateColumns, Base):
    """Minute aggregates that replace raw samples past the raw retention."""

    __tablename__ = "telemetry_aggregates_1m"
    __table_args__ = (
        # Serves the reduction to hours ("every minute older than"), as on samples.
        Index(
            "ix_telemetry_aggregates_1m_bucket_start",
            "bucket_start",
            postgresql_using="brin",
        ),
    )


class TelemetryHourAggregate(AggregateColumns, Base):
    """Hour aggregates that replace minute aggregates past the minute retention."""

    __tablename__ = "telemetry_aggregates_1h"


class TelemetryHourSummary(Base):
    """Every sample of one parameter in one UTC hour, wherever it is kept now (raw, or a
    minute or hour aggregate after retention): kept up to date by the ingest that writes
    the samples, so a bucket query over months reads one row per hour instead of 3,600
    samples. Unlike the aggregates it never replaces anything and is never reduced."""

    __tablename__ = "telemetry_hour_summaries"

    parameter_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # as on samples
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    min: Mapped[float] = mapped_column(Double)
    max: Mapped[float] = mapped_column(Double)
    total: Mapped[float] = mapped_column(Double)
