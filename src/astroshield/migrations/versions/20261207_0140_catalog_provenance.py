"""catalog provenance: public sets and organisations' overlays

Every element set records its provenance, the organisation whose overlay it is (NULL:
public), who sent it and, for an organisation's upload made public, who published it.
Sets stored before are public: uploads through the API (source ``upload:...``) keep
provenance ``organisation`` as published by ``migration`` (no organisation can be told
from them, and they were public until now), sources starting ``feed`` become ``feed``,
everything else ``platform``; their uploader was not recorded (``unknown``).

Revision ID: b13e00000005
Revises: b13e00000001
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b13e00000005"
down_revision: str | None = "b13e00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VISIBILITY_CONSISTENT = (
    "(organisation_id IS NOT NULL AND provenance = 'organisation' AND published_at IS NULL)"
    " OR (organisation_id IS NULL AND (provenance <> 'organisation' OR published_at IS NOT NULL))"
)
_PUBLIC = sa.text("organisation_id IS NULL")


def upgrade() -> None:
    op.create_table(
        "catalog_overlay_objects",
        sa.Column("object_id", sa.String(length=12), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("object_type", sa.String(length=16), nullable=True),
        sa.Column("epoch", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regime", sa.String(length=3), nullable=False),
        sa.Column("perigee_altitude_km", sa.Float(), nullable=False),
        sa.Column("apogee_altitude_km", sa.Float(), nullable=False),
        sa.Column("inclination_deg", sa.Float(), nullable=False),
        sa.Column("period_min", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("catalog_number", sa.String(length=9), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_catalog_overlay_objects_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "catalog_number", name=op.f("pk_catalog_overlay_objects")
        ),
    )
    op.drop_index("ix_catalog_element_sets_catalog_number_epoch", table_name="catalog_element_sets")
    # Batch mode: SQLite rebuilds the table to drop the foreign key and add constraints.
    with op.batch_alter_table("catalog_element_sets") as batch:
        batch.add_column(
            sa.Column("provenance", sa.String(length=16), nullable=False, server_default="platform")
        )
        batch.add_column(sa.Column("organisation_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("uploaded_by", sa.String(length=64), nullable=False, server_default="unknown")
        )
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("published_by", sa.String(length=64), nullable=True))
        # An overlay may name an object the public catalog does not know.
        batch.drop_constraint(
            "fk_catalog_element_sets_catalog_number_catalog_objects", type_="foreignkey"
        )
        batch.create_foreign_key(
            op.f("fk_catalog_element_sets_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.execute(
        "UPDATE catalog_element_sets SET provenance = 'organisation', "
        "published_at = imported_at, published_by = 'migration' WHERE source LIKE 'upload:%'"
    )
    op.execute(
        "UPDATE catalog_element_sets SET provenance = 'feed' WHERE lower(source) LIKE 'feed%'"
    )
    with op.batch_alter_table("catalog_element_sets") as batch:
        batch.alter_column("provenance", server_default=None)
        batch.alter_column("uploaded_by", server_default=None)
        batch.create_check_constraint(
            op.f("ck_catalog_element_sets_provenance_valid"),
            "provenance IN ('feed', 'platform', 'organisation')",
        )
        batch.create_check_constraint(
            op.f("ck_catalog_element_sets_visibility_consistent"), _VISIBILITY_CONSISTENT
        )
    op.create_index(
        "ix_catalog_element_sets_public_key",
        "catalog_element_sets",
        ["catalog_number", "epoch"],
        unique=True,
        sqlite_where=_PUBLIC,
        postgresql_where=_PUBLIC,
    )
    op.create_index(
        "ix_catalog_element_sets_overlay_key",
        "catalog_element_sets",
        ["organisation_id", "catalog_number", "epoch"],
        unique=True,
    )


def downgrade() -> None:
    # The old schema has one set per object and epoch, all public: overlays cannot stay.
    op.execute("DELETE FROM catalog_element_sets WHERE organisation_id IS NOT NULL")
    op.drop_index("ix_catalog_element_sets_overlay_key", table_name="catalog_element_sets")
    op.drop_index("ix_catalog_element_sets_public_key", table_name="catalog_element_sets")
    with op.batch_alter_table("catalog_element_sets") as batch:
        batch.drop_constraint(op.f("ck_catalog_element_sets_visibility_consistent"), type_="check")
        batch.drop_constraint(op.f("ck_catalog_element_sets_provenance_valid"), type_="check")
        batch.drop_constraint(
            op.f("fk_catalog_element_sets_organisation_id_organisations"), type_="foreignkey"
        )
        for column in (
            "published_by",
            "published_at",
            "uploaded_by",
            "organisation_id",
            "provenance",
        ):
            batch.drop_column(column)
        batch.create_foreign_key(
            op.f("fk_catalog_element_sets_catalog_number_catalog_objects"),
            "catalog_objects",
            ["catalog_number"],
            ["catalog_number"],
            ondelete="CASCADE",
        )
    op.create_index(
        "ix_catalog_element_sets_catalog_number_epoch",
        "catalog_element_sets",
        ["catalog_number", "epoch"],
        unique=True,
    )
    op.drop_table("catalog_overlay_objects")
