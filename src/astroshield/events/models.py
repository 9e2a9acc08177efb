"""The transactional outbox: one row per domain event, written in the transaction of the
change that caused it, published by the relay and kept (webhook delivery reads it too)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow


class OutboxEvent(Base):
    """``sequence`` orders the outbox (per subject the relay publishes in this order);
    ``id`` is the envelope's event id and the JetStream de-duplication key. A row is
    pending while ``sent_at`` is NULL; ``published_to`` says where it went (``nats``, or
    ``none`` when no bus was configured)."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_pending", "sent_at", "sequence"),
        Index("ix_outbox_events_subject_sequence", "subject", "sequence"),
    )

    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # NULL for platform events (a public catalog import); not a foreign key: the outbox is
    # a log and outlives nothing it mentions.
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    subject: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_to: Mapped[str | None] = mapped_column(String(16))
