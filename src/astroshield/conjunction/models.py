"""conjunction domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.astro.conjunction.risk import Tier
from astroshield.db import Base, UTCDateTime, utcnow, uuid7


class EventStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class EventSource(StrEnum):
    CDM = "cdm"
    SCREENING = "screening"


class ScreeningStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


class ConjunctionEvent(Base):
    """One close approach of an organisation's spacecraft with another object.

    Successive CDMs of the same encounter (TCA within ``conjunction_tca_match_s``) update one
    row. ``tca_key``, the first report's TCA floored to that window, makes the identity a
    unique constraint, so two requests racing to open the same event cannot both succeed.
    The latest miss distance, Pc and tier are kept on the row so lists and filters are one
    indexed query.
    """

    __tablename__ = "conjunction_events"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id",
            "primary_catalog_number",
            "secondary_catalog_number",
            "tca_key",
            name="uq_conjunction_events_encounter",
        ),
        CheckConstraint(_in("tier", Tier), name="tier_valid"),
        CheckConstraint(_in("status", EventStatus), name="status_valid"),
        CheckConstraint(_in("source", EventSource), name="source_valid"),
        CheckConstraint("window_edge IN ('start', 'end')", name="window_edge_valid"),
        Index("ix_conjunction_events_organisation_id_tca", "organisation_id", "tca"),
        Index("ix_conjunction_events_spacecraft_id", "spacecraft_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spacecraft.id", ondelete="CASCADE")
    )
    primary_catalog_number: Mapped[str] = mapped_column(String(9))
    secondary_catalog_number: Mapped[str] = mapped_column(String(9))
    secondary_name: Mapped[str | None] = mapped_column(String(128))
    tca: Mapped[datetime] = mapped_column(UTCDateTime)
    tca_key: Mapped[datetime] = mapped_column(UTCDateTime)
    miss_distance_m: Mapped[float] = mapped_column(Float)
    relative_speed_m_s: Mapped[float | None] = mapped_column(Float)
    pc: Mapped[float | None] = mapped_column(Float)  # 2-D Foster of the latest CDM
    tier: Mapped[str] = mapped_column(String(8))
    tier_basis: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default=EventStatus.OPEN.value)
    source: Mapped[str] = mapped_column(String(16))
    # Set when a screening found the pair within the threshold at its window's start or end
    # with the minimum beyond it: tca and miss are then the values at that edge. A CDM (a
    # real TCA) or a screening that sees the minimum clears it.
    window_edge: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# The upkeep closing passed events looks at open ones across organisations (declared after
# the class: the condition names its column).
Index(
    "ix_conjunction_events_open_tca",
    ConjunctionEvent.tca,
    postgresql_where=ConjunctionEvent.status == "open",
    sqlite_where=ConjunctionEvent.status == "open",
)


class ConjunctionCdm(Base):
    """One CDM received for an event, as sent (``raw``) and with every Pc computed from it."""

    __tablename__ = "conjunction_cdms"
    __table_args__ = (
        # CCSDS 508.0-B-1: MESSAGE_ID is unique per originator; a re-sent message is the same one.
        UniqueConstraint("organisation_id", "message_id", name="uq_conjunction_cdms_message"),
        CheckConstraint("format IN ('kvn', 'xml')", name="format_valid"),
        Index("ix_conjunction_cdms_event_id_creation_date", "event_id", "creation_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conjunction_events.id", ondelete="CASCADE")
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    message_id: Mapped[str] = mapped_column(String(128))
    originator: Mapped[str] = mapped_column(String(128))
    creation_date: Mapped[datetime] = mapped_column(UTCDateTime)
    tca: Mapped[datetime] = mapped_column(UTCDateTime)
    miss_distance_m: Mapped[float] = mapped_column(Float)
    # NULL: undefined (a covariance that cannot be remediated); the report says why.
    pc_2d_foster: Mapped[float | None] = mapped_column(Float)
    pc_2d_chan: Mapped[float | None] = mapped_column(Float)
    pc_max: Mapped[float | None] = mapped_column(Float)
    pc_3d: Mapped[float | None] = mapped_column(Float)
    pc_mc: Mapped[float | None] = mapped_column(Float)
    hbr_m: Mapped[float] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    raw: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def covariance_remediation_status(self) -> str:
        """The stored report's covariance verdict (reports written before issue 21 carry
        only ``covariance_repaired``)."""
        summary = self.report.get("covariance_remediation")
        if isinstance(summary, dict) and isinstance(summary.get("status"), str):
            return str(summary["status"])
        return "remediated" if self.report.get("covariance_repaired") else "positive_definite"

    @property
    def pc_undefined_reason(self) -> dict[str, str]:
        """Method -> why its Pc is NULL, from the stored report."""
        reasons = self.report.get("pc_undefined_reason")
        return {str(k): str(v) for k, v in reasons.items()} if isinstance(reasons, dict) else {}


class ConjunctionScreening(Base):
    """A one-vs-all screening job for one spacecraft; ``results`` lists what it found."""

    __tablename__ = "conjunction_screenings"
    __table_args__ = (
        CheckConstraint(_in("status", ScreeningStatus), name="status_valid"),
        Index("ix_conjunction_screenings_organisation_id", "organisation_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spacecraft.id", ondelete="CASCADE")
    )
    catalog_number: Mapped[str] = mapped_column(String(9))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    days: Mapped[float] = mapped_column(Float)
    threshold_km: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=ScreeningStatus.QUEUED.value)
    error: Mapped[str | None] = mapped_column(String(1000))
    objects_screened: Mapped[int | None] = mapped_column(Integer)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
