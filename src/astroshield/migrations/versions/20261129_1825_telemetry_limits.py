"""telemetry limit sets, parameter limit state, latching alert rules

Revision ID: a1c47a0c2005
Revises: a1c47a0c2003
Create Date: 2026-11-29 18:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c47a0c2005"
down_revision: str | None = "a1c47a0c2003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_rules") as batch:
        batch.add_column(
            sa.Column("latching", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "telemetry_limit_sets",
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("ranges", sa.JSON(), nullable=False),
        sa.Column("min_violations", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("alert_rule_id", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "min_violations >= 1",
            name=op.f("ck_telemetry_limit_sets_min_violations_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_telemetry_limit_sets_alert_rule_id_alert_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["telemetry_parameters.id"],
            name=op.f("fk_telemetry_limit_sets_parameter_id_telemetry_parameters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("parameter_id", name=op.f("pk_telemetry_limit_sets")),
    )
    op.create_table(
        "telemetry_limit_state",
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("consecutive_violations", sa.Integer(), nullable=False),
        sa.Column("last_level", sa.String(length=16), nullable=True),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["telemetry_parameters.id"],
            name=op.f("fk_telemetry_limit_state_parameter_id_telemetry_parameters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("parameter_id", name=op.f("pk_telemetry_limit_state")),
    )


def downgrade() -> None:
    op.drop_table("telemetry_limit_state")
    op.drop_table("telemetry_limit_sets")
    with op.batch_alter_table("alert_rules") as batch:
        batch.drop_column("latching")
