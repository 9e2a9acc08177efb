"""ccdm: stored manoeuvre detections and intent categories

Revision ID: ccdm00000001
Revises: feed00000001
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ccdm00000001"
down_revision: str | None = "feed00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maneuver_detections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("catalog_number", sa.String(length=9), nullable=False),
        sa.Column("object_name", sa.String(length=128), nullable=True),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_stop", sa.DateTime(timezone=True), nullable=False),
        sa.Column("burn_epoch", sa.DateTime(timezone=True), nullable=False),
        sa.Column("burn_window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("burn_window_stop", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delta_v_m_s", sa.Float(), nullable=False),
        sa.Column("delta_v_in_plane_m_s", sa.Float(), nullable=False),
        sa.Column("delta_v_out_of_plane_m_s", sa.Float(), nullable=False),
        sa.Column("delta_a_km", sa.Float(), nullable=False),
        sa.Column("delta_inclination_deg", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("score_sigma", sa.Float(), nullable=False),
        sa.Column("threshold_sigma", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("timed", sa.Boolean(), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("detector_version", sa.String(length=32), nullable=False),
        sa.Column("before_element_set_id", sa.BigInteger(), nullable=True),
        sa.Column("after_element_set_id", sa.BigInteger(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_maneuver_detections_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maneuver_detections")),
    )
    op.create_index(
        "ix_maneuver_detections_overlay_key",
        "maneuver_detections",
        ["organisation_id", "catalog_number", "interval_start", "interval_stop"],
        unique=True,
    )
    op.create_index(
        "ix_maneuver_detections_public_key",
        "maneuver_detections",
        ["catalog_number", "interval_start", "interval_stop"],
        unique=True,
        sqlite_where=sa.text("organisation_id IS NULL"),
        postgresql_where=sa.text("organisation_id IS NULL"),
    )
    op.create_index(
        "ix_maneuver_detections_catalog_number",
        "maneuver_detections",
        ["catalog_number", "interval_start"],
    )
    op.create_table(
        "intent_assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("catalog_number", sa.String(length=9), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_intent_assessments_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name=op.f("fk_intent_assessments_spacecraft_id_spacecraft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_assessments")),
        sa.UniqueConstraint(
            "organisation_id",
            "spacecraft_id",
            "catalog_number",
            name="uq_intent_assessments_pair",
        ),
    )
    op.create_index(
        "ix_intent_assessments_catalog_number", "intent_assessments", ["catalog_number"]
    )


def downgrade() -> None:
    op.drop_table("intent_assessments")
    op.drop_table("maneuver_detections")
