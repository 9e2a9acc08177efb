"""What CCDM stores: manoeuvre detections (so each is announced once) and the latest intent
category of each assessed pair (so a change of category is announced once)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow, uuid7


class ManeuverDetectionRecord(Base):
    """One manoeuvre found in an object's element-set history, in one *scope*: the public
    catalog (``organisation_id`` NULL: detected on public sets only) or the effective
    history one organisation sees (its overlay sets were used).

    The burn lies between the bracketing element sets (``interval_start`` and
    ``interval_stop`` are their epochs, ``before_element_set_id``/``after_element_set_id``
    their ids; not foreign keys, retention may delete the sets and the detection stays).
    Unique per (scope, catalog_number, interval): running the detector again stores nothing
    twice. The numbers are the detector's (``astroshield.astro.ccdm.maneuvers``).
    """

    __tablename__ = "maneuver_detections"
    __table_args__ = (
        Index(
            "ix_maneuver_detections_overlay_key",
            "organisation_id",
            "catalog_number",
            "interval_start",
            "interval_stop",
            unique=True,
        ),
        Index("ix_maneuver_detections_catalog_number", "catalog_number", "interval_start"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    catalog_number: Mapped[str] = mapped_column(String(9))
    object_name: Mapped[str | None] = mapped_column(String(128))
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_stop: Mapped[datetime] = mapped_column(UTCDateTime)
    # Best estimate of the burn time and its bounds.
    burn_epoch: Mapped[datetime] = mapped_column(UTCDateTime)
    burn_window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    burn_window_stop: Mapped[datetime] = mapped_column(UTCDateTime)
    delta_v_m_s: Mapped[float] = mapped_column(Float)
    delta_v_in_plane_m_s: Mapped[float] = mapped_column(Float)
    delta_v_out_of_plane_m_s: Mapped[float] = mapped_column(Float)
    delta_a_km: Mapped[float] = mapped_column(Float)
    delta_inclination_deg: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    # The detection statistic in the object's robust sigmas, and the threshold it passed.
    score_sigma: Mapped[float] = mapped_column(Float)
    threshold_sigma: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    timed: Mapped[bool] = mapped_column(Boolean)
    detector: Mapped[str] = mapped_column(String(64))
    detector_version: Mapped[str] = mapped_column(String(32))
    before_element_set_id: Mapped[int | None] = mapped_column(BigInteger)
    after_element_set_id: Mapped[int | None] = mapped_column(BigInteger)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Public detections: unique without an organisation (NULLs are distinct in the index above).
_PUBLIC = ManeuverDetectionRecord.organisation_id.is_(None)
Index(
    "ix_maneuver_detections_public_key",
    ManeuverDetectionRecord.catalog_number,
    ManeuverDetectionRecord.interval_start,
    ManeuverDetectionRecord.interval_stop,
    unique=True,
    sqlite_where=_PUBLIC,
    postgresql_where=_PUBLIC,
)


class IntentAssessmentRecord(Base):
    """The latest intent assessment of one object against one organisation's spacecraft;
    ``changed_at`` is when the category last changed (or was first assessed)."""

    __tablename__ = "intent_assessments"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id",
            "spacecraft_id",
            "catalog_number",
            name="uq_intent_assessments_pair",
        ),
        Index("ix_intent_assessments_catalog_number", "catalog_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    spacecraft_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("spacecraft.id", ondelete="CASCADE")
    )
    catalog_number: Mapped[str] = mapped_column(String(9))
    category: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    # The window the last assessment used; the catalog follow-up re-assesses with it.
    window_days: Mapped[int] = mapped_column(Integer)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
