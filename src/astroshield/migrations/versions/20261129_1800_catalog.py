"""catalog objects and element-set history

Revision ID: a1c47a0c2001
Revises: f04ab821d7cf
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c47a0c2001"
down_revision: str | None = "f04ab821d7cf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_objects",
        sa.Column("catalog_number", sa.String(length=9), nullable=False),
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
        sa.PrimaryKeyConstraint("catalog_number", name=op.f("pk_catalog_objects")),
    )
    op.create_index("ix_catalog_objects_object_id", "catalog_objects", ["object_id"], unique=False)
    op.create_index("ix_catalog_objects_regime", "catalog_objects", ["regime"], unique=False)
    op.create_table(
        "catalog_element_sets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("catalog_number", sa.String(length=9), nullable=False),
        sa.Column("epoch", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object_name", sa.String(length=128), nullable=True),
        sa.Column("object_id", sa.String(length=12), nullable=True),
        sa.Column("classification", sa.String(length=1), nullable=False),
        sa.Column("mean_motion_rev_per_day", sa.Float(), nullable=False),
        sa.Column("eccentricity", sa.Float(), nullable=False),
        sa.Column("inclination_deg", sa.Float(), nullable=False),
        sa.Column("ra_of_asc_node_deg", sa.Float(), nullable=False),
        sa.Column("arg_of_pericenter_deg", sa.Float(), nullable=False),
        sa.Column("mean_anomaly_deg", sa.Float(), nullable=False),
        sa.Column("bstar_per_earth_radius", sa.Float(), nullable=False),
        sa.Column("mean_motion_dot_rev_per_day2", sa.Float(), nullable=False),
        sa.Column("mean_motion_ddot_rev_per_day3", sa.Float(), nullable=False),
        sa.Column("ephemeris_type", sa.Integer(), nullable=False),
        sa.Column("element_set_number", sa.Integer(), nullable=False),
        sa.Column("rev_at_epoch", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["catalog_number"],
            ["catalog_objects.catalog_number"],
            name=op.f("fk_catalog_element_sets_catalog_number_catalog_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_element_sets")),
    )
    op.create_index(
        "ix_catalog_element_sets_catalog_number_epoch",
        "catalog_element_sets",
        ["catalog_number", "epoch"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_catalog_element_sets_catalog_number_epoch", table_name="catalog_element_sets")
    op.drop_table("catalog_element_sets")
    op.drop_index("ix_catalog_objects_regime", table_name="catalog_objects")
    op.drop_index("ix_catalog_objects_object_id", table_name="catalog_objects")
    op.drop_table("catalog_objects")
