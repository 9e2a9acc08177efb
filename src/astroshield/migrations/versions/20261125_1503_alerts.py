"""alerts

Revision ID: db49ea8f0c3a
Revises: 67d074a36660
Create Date: 2026-11-25 15:03:43.107662
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "db49ea8f0c3a"
down_revision: str | None = "67d074a36660"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notifier", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_dead_letters")),
    )
    op.create_index(
        op.f("ix_notification_dead_letters_created_at"),
        "notification_dead_letters",
        ["created_at"],
        unique=False,
    )
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("comparison", sa.String(length=8), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("clear_threshold", sa.Float(), nullable=False),
        sa.Column("for_s", sa.Float(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "comparison IN ('above', 'below')", name=op.f("ck_alert_rules_comparison_valid")
        ),
        sa.CheckConstraint("for_s >= 0", name=op.f("ck_alert_rules_for_non_negative")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_alert_rules_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_index(
        op.f("ix_alert_rules_organisation_id"), "alert_rules", ["organisation_id"], unique=False
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_comment", sa.String(length=1000), nullable=True),
        sa.Column("shelved_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('inactive', 'pending', 'firing', 'acknowledged', 'resolved')",
            name=op.f("ck_alerts_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alerts_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_alerts_dedup_key")),
    )
    op.create_index(
        "ix_alerts_organisation_status", "alerts", ["organisation_id", "status"], unique=False
    )
    op.create_index(op.f("ix_alerts_rule_id"), "alerts", ["rule_id"], unique=False)
    op.create_table(
        "alert_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_events_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index("ix_alert_events_alert_id_id", "alert_events", ["alert_id", "id"], unique=False)
    op.create_index(
        op.f("ix_alert_events_organisation_id"), "alert_events", ["organisation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_events_organisation_id"), table_name="alert_events")
    op.drop_index("ix_alert_events_alert_id_id", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index(op.f("ix_alerts_rule_id"), table_name="alerts")
    op.drop_index("ix_alerts_organisation_status", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index(op.f("ix_alert_rules_organisation_id"), table_name="alert_rules")
    op.drop_table("alert_rules")
    op.drop_index(
        op.f("ix_notification_dead_letters_created_at"), table_name="notification_dead_letters"
    )
    op.drop_table("notification_dead_letters")
