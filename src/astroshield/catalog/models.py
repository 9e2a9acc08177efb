from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow


class CatalogObject(Base):
    """One tracked object of the public catalog (global: not owned by an organisation).

    The orbit summary columns are derived from the newest element set at import time so
    regime and altitude filters are plain indexed comparisons, not propagations.
    """

    __tablename__ = "catalog_objects"
    __table_args__ = (
        Index("ix_catalog_objects_object_id", "object_id"),
        Index("ix_catalog_objects_regime", "regime"),
    )

    catalog_number: Mapped[str] = mapped_column(String(9), primary_key=True)
    object_id: Mapped[str | None] = mapped_column(String(12))
    name: Mapped[str | None] = mapped_column(String(128))
    object_type: Mapped[str | None] = mapped_column(String(16))
    epoch: Mapped[datetime] = mapped_column(UTCDateTime)
    regime: Mapped[str] = mapped_column(String(3))
    perigee_altitude_km: Mapped[float] = mapped_column(Float)
    apogee_altitude_km: Mapped[float] = mapped_column(Float)
    inclination_deg: Mapped[float] = mapped_column(Float)
    period_min: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ElementSetRecord(Base):
    """One SGP4 mean-element set of one object, stored as written in the TLE/OMM it came from
    (units of :class:`astroshield.astro.elements.ElementSet`)."""

    __tablename__ = "catalog_element_sets"
    __table_args__ = (
        # The unique index is both the idempotency key of imports and the history index.
        Index(
            "ix_catalog_element_sets_catalog_number_epoch", "catalog_number", "epoch", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    catalog_number: Mapped[str] = mapped_column(
        String(9), ForeignKey("catalog_objects.catalog_number", ondelete="CASCADE")
    )
    epoch: Mapped[datetime] = mapped_column(UTCDateTime)
    object_name: Mapped[str | None] = mapped_column(String(128))
    object_id: Mapped[str | None] = mapped_column(String(12))
    classification: Mapped[str] = mapped_column(String(1), default="U")
    mean_motion_rev_per_day: Mapped[float] = mapped_column(Float)
    eccentricity: Mapped[float] = mapped_column(Float)
    inclination_deg: Mapped[float] = mapped_column(Float)
    ra_of_asc_node_deg: Mapped[float] = mapped_column(Float)
    arg_of_pericenter_deg: Mapped[float] = mapped_column(Float)
    mean_anomaly_deg: Mapped[float] = mapped_column(Float)
    bstar_per_earth_radius: Mapped[float] = mapped_column(Float)
    mean_motion_dot_rev_per_day2: Mapped[float] = mapped_column(Float)
    mean_motion_ddot_rev_per_day3: Mapped[float] = mapped_column(Float)
    ephemeris_type: Mapped[int] = mapped_column(Integer, default=0)
    element_set_number: Mapped[int] = mapped_column(Integer, default=999)
    rev_at_epoch: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
