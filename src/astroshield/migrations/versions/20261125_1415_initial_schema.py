"""initial schema

Revision ID: e50ba126f1e3
Revises:
Create Date: 2026-11-25 14:15:10.433926
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e50ba126f1e3"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_log_entry_hash")),
    )
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"], unique=False)
    op.create_index(
        op.f("ix_audit_log_organisation_id"), "audit_log", ["organisation_id"], unique=False
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(slug) >= 2", name=op.f("ck_organisations_slug_min_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organisations_slug")),
    )
    op.create_table(
        "spacecraft",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("catalog_number", sa.String(length=9), nullable=True),
        sa.Column("cospar_id", sa.String(length=12), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(length=24), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("health_summary", sa.String(length=500), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("orbit_epoch", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "health IN ('unknown', 'nominal', 'degraded', 'critical')",
            name=op.f("ck_spacecraft_health_valid"),
        ),
        sa.CheckConstraint(
            "mode IN ('unknown', 'commissioning', 'operational', 'standby', 'safe_mode', 'maneuvering', 'decommissioned')",
            name=op.f("ck_spacecraft_mode_valid"),
        ),
        sa.CheckConstraint("length(name) >= 1", name=op.f("ck_spacecraft_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_spacecraft_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spacecraft")),
        sa.UniqueConstraint(
            "organisation_id", "catalog_number", name="uq_spacecraft_organisation_catalog_number"
        ),
        sa.UniqueConstraint("organisation_id", "name", name="uq_spacecraft_organisation_name"),
    )
    op.create_index("ix_spacecraft_catalog_number", "spacecraft", ["catalog_number"], unique=False)
    op.create_index(
        "ix_spacecraft_organisation_id_mode",
        "spacecraft",
        ["organisation_id", "mode"],
        unique=False,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('viewer', 'operator', 'analyst', 'admin')", name=op.f("ck_users_role_valid")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_users_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"], unique=False)
    op.create_table(
        "spacecraft_status_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=24), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("health_summary", sa.String(length=500), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("orbit_epoch", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "health IN ('unknown', 'nominal', 'degraded', 'critical')",
            name=op.f("ck_spacecraft_status_reports_health_valid"),
        ),
        sa.CheckConstraint(
            "mode IN ('unknown', 'commissioning', 'operational', 'standby', 'safe_mode', 'maneuvering', 'decommissioned')",
            name=op.f("ck_spacecraft_status_reports_mode_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name=op.f("fk_spacecraft_status_reports_spacecraft_id_spacecraft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spacecraft_status_reports")),
    )
    op.create_index(
        "ix_spacecraft_status_reports_spacecraft_reported",
        "spacecraft_status_reports",
        ["spacecraft_id", "reported_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_spacecraft_status_reports_spacecraft_reported", table_name="spacecraft_status_reports"
    )
    op.drop_table("spacecraft_status_reports")
    op.drop_index(op.f("ix_users_organisation_id"), table_name="users")
    op.drop_table("users")
    op.drop_index("ix_spacecraft_organisation_id_mode", table_name="spacecraft")
    op.drop_index("ix_spacecraft_catalog_number", table_name="spacecraft")
    op.drop_table("spacecraft")
    op.drop_table("organisations")
    op.drop_index(op.f("ix_audit_log_organisation_id"), table_name="audit_log")
    op.drop_index("ix_audit_log_occurred_at", table_name="audit_log")
    op.drop_table("audit_log")
