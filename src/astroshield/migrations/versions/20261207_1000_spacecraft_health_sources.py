"""spacecraft health from telemetry, reports and overrides

The health in force now has a source (``health_source``: telemetry, override, report,
none) and its inputs are kept apart: the latest plain report's health, the health derived
from open telemetry limit alarms (with the alarms behind it), and an operator override with
its reason and expiry. Existing spacecraft keep their health as a report's (source
``report`` when a report was ever made, else ``none``); their history rows, written by the
API, become ``report`` rows, and history rows gain a ``reason``.

Revision ID: stat00000001
Revises: b15f00000001
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "stat00000001"
down_revision: str | None = "b15f00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _override_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("override_health", sa.String(length=16), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("override_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_set_by", sa.String(length=64), nullable=True),
        sa.Column("override_set_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to add the check constraints.
    with op.batch_alter_table("spacecraft") as batch:
        batch.add_column(
            sa.Column("health_source", sa.String(length=16), nullable=False, server_default="none")
        )
        batch.add_column(sa.Column("reported_health", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("telemetry_health", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("health_reasons", sa.JSON(), nullable=True))
        for column in _override_columns():
            batch.add_column(column)
        batch.create_check_constraint(
            op.f("ck_spacecraft_health_source_valid"),
            "health_source IN ('telemetry', 'override', 'report', 'none')",
        )
        batch.create_check_constraint(
            op.f("ck_spacecraft_override_complete"),
            "(override_health IS NULL) = (override_expires_at IS NULL)",
        )
    op.execute(
        "UPDATE spacecraft SET reported_health = health, health_source = 'report' "
        "WHERE status_reported_at IS NOT NULL"
    )
    with op.batch_alter_table("spacecraft_status_reports") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
    op.execute("UPDATE spacecraft_status_reports SET source = 'report' WHERE source = 'api'")


def downgrade() -> None:
    # The rows only the new sources wrote are not reports: they leave with the feature.
    op.execute("DELETE FROM spacecraft_status_reports WHERE source NOT IN ('report', 'override')")
    op.execute("UPDATE spacecraft_status_reports SET source = 'api'")
    with op.batch_alter_table("spacecraft_status_reports") as batch:
        batch.drop_column("reason")
    # The health in force becomes the report's again (unknown without one).
    op.execute("UPDATE spacecraft SET health = COALESCE(reported_health, 'unknown')")
    with op.batch_alter_table("spacecraft") as batch:
        batch.drop_constraint(op.f("ck_spacecraft_override_complete"), type_="check")
        batch.drop_constraint(op.f("ck_spacecraft_health_source_valid"), type_="check")
        for column in reversed(_override_columns()):
            batch.drop_column(column.name)
        batch.drop_column("health_reasons")
        batch.drop_column("telemetry_health")
        batch.drop_column("reported_health")
        batch.drop_column("health_source")
