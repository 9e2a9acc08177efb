from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, SmallInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """Append-only record of writes and security events.

    ``entry_hash`` covers the entry, its ``sequence`` and ``previous_hash``, so editing or
    deleting any entry breaks the chain from there on (``audit verify`` finds it).
    ``hash_version`` 2 is HMAC-SHA256 under the chain key ``key_id``; 1 is the unkeyed
    SHA-256 of entries written before the chain was keyed, verified as they were made.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_occurred_at", "occurred_at"),)

    # SQLite only auto-increments an INTEGER PRIMARY KEY, so BIGINT is PostgreSQL-only.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(128))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # 1, 2, 3 … without gaps, assigned under the chain lock (ids may skip on PostgreSQL when
    # a transaction rolls back): a missing number is a deleted entry.
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash_version: Mapped[int] = mapped_column(SmallInteger)
    key_id: Mapped[str | None] = mapped_column(String(32))
    # Unique: two entries claiming the same predecessor would fork the chain.
    previous_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
