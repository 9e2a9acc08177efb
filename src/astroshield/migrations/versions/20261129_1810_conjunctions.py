"""conjunction events and CDM history

Revision ID: a1c47a0c2002
Revises: a1c47a0c2001
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c47a0c2002"
down_revision: str | None = "a1c47a0c2001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conjunction_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("primary_catalog_number", sa.String(length=9), nullable=False),
        sa.Column("secondary_catalog_number", sa.String(length=9), nullable=False),
        sa.Column("secondary_name", sa.String(length=128), nullable=True),
        sa.Column("tca", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tca_key", sa.DateTime(timezone=True), nullable=False),
        sa.Column("miss_distance_m", sa.Float(), nullable=False),
        sa.Column("relative_speed_m_s", sa.Float(), nullable=True),
        sa.Column("pc", sa.Float(), nullable=True),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("tier_basis", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "tier IN ('red', 'yellow', 'green')", name=op.f("ck_conjunction_events_tier_valid")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'closed')", name=op.f("ck_conjunction_events_status_valid")
        ),
        sa.CheckConstraint(
            "source IN ('cdm', 'screening')", name=op.f("ck_conjunction_events_source_valid")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_conjunction_events_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name=op.f("fk_conjunction_events_spacecraft_id_spacecraft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conjunction_events")),
        sa.UniqueConstraint(
            "organisation_id",
            "primary_catalog_number",
            "secondary_catalog_number",
            "tca_key",
            name="uq_conjunction_events_encounter",
        ),
    )
    op.create_index(
        "ix_conjunction_events_organisation_id_tca",
        "conjunction_events",
        ["organisation_id", "tca"],
        unique=False,
    )
    op.create_index(
        "ix_conjunction_events_spacecraft_id", "conjunction_events", ["spacecraft_id"], unique=False
    )
    op.create_table(
        "conjunction_cdms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("originator", sa.String(length=128), nullable=False),
        sa.Column("creation_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tca", sa.DateTime(timezone=True), nullable=False),
        sa.Column("miss_distance_m", sa.Float(), nullable=False),
        sa.Column("pc_2d_foster", sa.Float(), nullable=False),
        sa.Column("pc_2d_chan", sa.Float(), nullable=False),
        sa.Column("pc_max", sa.Float(), nullable=False),
        sa.Column("pc_3d", sa.Float(), nullable=False),
        sa.Column("pc_mc", sa.Float(), nullable=False),
        sa.Column("hbr_m", sa.Float(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "format IN ('kvn', 'xml')", name=op.f("ck_conjunction_cdms_format_valid")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["conjunction_events.id"],
            name=op.f("fk_conjunction_cdms_event_id_conjunction_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conjunction_cdms")),
        sa.UniqueConstraint("organisation_id", "message_id", name="uq_conjunction_cdms_message"),
    )
    op.create_index(
        "ix_conjunction_cdms_event_id_creation_date",
        "conjunction_cdms",
        ["event_id", "creation_date"],
        unique=False,
    )
    op.create_table(
        "conjunction_screenings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("catalog_number", sa.String(length=9), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("threshold_km", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("objects_screened", sa.Integer(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_conjunction_screenings_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_conjunction_screenings_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name=op.f("fk_conjunction_screenings_spacecraft_id_spacecraft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conjunction_screenings")),
    )
    op.create_index(
        "ix_conjunction_screenings_organisation_id",
        "conjunction_screenings",
        ["organisation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_conjunction_screenings_organisation_id", table_name="conjunction_screenings")
    op.drop_table("conjunction_screenings")
    op.drop_index("ix_conjunction_cdms_event_id_creation_date", table_name="conjunction_cdms")
    op.drop_table("conjunction_cdms")
    op.drop_index("ix_conjunction_events_spacecraft_id", table_name="conjunction_events")
    op.drop_index("ix_conjunction_events_organisation_id_tca", table_name="conjunction_events")
    op.drop_table("conjunction_events")
