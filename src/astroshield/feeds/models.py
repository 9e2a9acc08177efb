"""Feed bookkeeping: each refresh or CDM poll run (listed to platform administrators), what
each identical provider query last got (so it is not repeated within the refresh interval,
across processes), and the Space-Track CDM ids already ingested."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow


class FeedRun(Base):
    """``status``: running, succeeded or failed (``error`` says why, one line)."""

    __tablename__ = "feed_runs"
    __table_args__ = (Index("ix_feed_runs_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # refresh | cdm_poll
    source: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | cli
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    already_present: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class FeedQuery(Base):
    """``key``: provider and query path (``space-track:gp/NORAD_CAT_ID/5/format/json``)."""

    __tablename__ = "feed_queries"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    etag: Mapped[str | None] = mapped_column(String(256))
    last_modified: Mapped[str | None] = mapped_column(String(64))


class FeedCdm(Base):
    """A Space-Track CDM_ID already ingested for an organisation (a re-poll skips it)."""

    __tablename__ = "feed_cdms"

    cdm_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
