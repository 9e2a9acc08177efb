"""The space-object catalog: every element set per object over time, public or an
organisation's own overlay (see :mod:`astroshield.catalog`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow


class Provenance(StrEnum):
    """Where an element set came from."""

    FEED = "feed"  # a trusted automated feed (``astroshield catalog import --provenance feed``)
    PLATFORM = "platform"  # a platform import: the CLI, or a platform admin's upload
    ORGANISATION = "organisation"  # an organisation's upload (its overlay until published)


class _OrbitSummary:
    """Columns derived from an object's newest element set at import time, so regime and
    altitude filters are plain indexed comparisons, not propagations."""

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


class CatalogObject(_OrbitSummary, Base):
    """One object of the public catalog (global: not owned by an organisation), summarised
    from its newest *public* element set only: an overlay never changes what anyone sees
    here. An object known only from overlays has no row."""

    __tablename__ = "catalog_objects"
    __table_args__ = (
        Index("ix_catalog_objects_object_id", "object_id"),
        Index("ix_catalog_objects_regime", "regime"),
    )
    overlay: ClassVar[bool] = False

    catalog_number: Mapped[str] = mapped_column(String(9), primary_key=True)


class CatalogOverlayObject(_OrbitSummary, Base):
    """An object as one organisation's overlay describes it, from that organisation's
    newest overlay set. Shown to that organisation only, and only while the public catalog
    does not know the object (the public summary wins once it does)."""

    __tablename__ = "catalog_overlay_objects"
    overlay: ClassVar[bool] = True

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    catalog_number: Mapped[str] = mapped_column(String(9), primary_key=True)


# Lists page in numeric catalog order (length, then text: "999" before "1000"); these let
# the database walk an index instead of sorting every object.
# PostgreSQL only: SQLite, the embedded default, holds small catalogs and cannot reflect
# expression indexes.
Index(
    "ix_catalog_objects_numeric_order",
    func.length(CatalogObject.catalog_number),
    CatalogObject.catalog_number,
).ddl_if(dialect="postgresql")
Index(
    "ix_catalog_overlay_objects_numeric_order",
    CatalogOverlayObject.organisation_id,
    func.length(CatalogOverlayObject.catalog_number),
    CatalogOverlayObject.catalog_number,
).ddl_if(dialect="postgresql")


# A set is public (organisation_id NULL) or one organisation's overlay. An overlay is always
# an organisation's unpublished upload; a public set from an organisation was published.
_VISIBILITY_CONSISTENT = (
    "(organisation_id IS NOT NULL AND provenance = 'organisation' AND published_at IS NULL)"
    " OR (organisation_id IS NULL AND (provenance <> 'organisation' OR published_at IS NOT NULL))"
)
PUBLIC_KEY_INDEX = "ix_catalog_element_sets_public_key"
OVERLAY_KEY_INDEX = "ix_catalog_element_sets_overlay_key"


class ElementSetRecord(Base):
    """One SGP4 mean-element set of one object, stored as written in the TLE/OMM it came from
    (units of :class:`astroshield.astro.dynamics.elements.ElementSet`), with its provenance.

    Unique per (catalog_number, epoch) among public sets and per (organisation, catalog_number,
    epoch) within an overlay, so a public set and an organisation's overlay set may share an
    epoch. The unique indexes are the idempotency keys of imports and the history indexes.
    There is no foreign key to ``catalog_objects``: an overlay may name an object the public
    catalog does not know.
    """

    __tablename__ = "catalog_element_sets"
    __table_args__ = (
        Index(OVERLAY_KEY_INDEX, "organisation_id", "catalog_number", "epoch", unique=True),
        CheckConstraint(
            "provenance IN ('feed', 'platform', 'organisation')", name="provenance_valid"
        ),
        CheckConstraint(_VISIBILITY_CONSISTENT, name="visibility_consistent"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    catalog_number: Mapped[str] = mapped_column(String(9))
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
    provenance: Mapped[str] = mapped_column(String(16))
    # NULL: public. Otherwise the overlay of this organisation, seen by it alone.
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    # A user id, or "cli" / "system"; "unknown" for sets stored before it was recorded.
    uploaded_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def overlay(self) -> bool:
        return self.organisation_id is not None


# The public key is a partial index (public sets only); declared after the class so that its
# condition is a column expression rather than SQL text.
_PUBLIC_SET = ElementSetRecord.organisation_id.is_(None)
Index(
    PUBLIC_KEY_INDEX,
    ElementSetRecord.catalog_number,
    ElementSetRecord.epoch,
    unique=True,
    sqlite_where=_PUBLIC_SET,
    postgresql_where=_PUBLIC_SET,
)
